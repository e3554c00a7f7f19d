export * from './errors.js';
export type { Connection } from './pg-util.js';
export {
  TwoPhaseCoordinator,
  type CoordinatorOptions,
  type InDoubtParticipant,
  type InDoubtTransaction,
  type IsolationLevel,
  type ParticipantOptions,
  type ParticipantTx,
  type RecoveryReport,
  type RunOptions,
  type TwoPhaseStep,
} from './twopc/coordinator.js';
export type { LogState } from './twopc/log-store.js';
export {
  defineSaga,
  SagaOrchestrator,
  type CompensationContext,
  type ExecuteOptions,
  type SagaDefinition,
  type SagaEvent,
  type SagaOrchestratorOptions,
  type SagaOutcome,
  type SagaStep,
  type StepContext,
} from './saga/orchestrator.js';
export type { RetryPolicy } from './saga/retry.js';
export type {
  SagaRecord,
  SagaStatus,
  StepRecord,
  StepStatus,
  StoredError,
} from './saga/saga-store.js';
