export type {
  ConsumerOptions,
  FetchOptions,
  GroupStats,
  JsonValue,
  OutgoingMessage,
  RunOptions,
  StreamAdapter,
  StreamCapabilities,
  StreamConsumer,
  StreamMessage,
  StreamProducer,
} from './types.js';
export {
  ForeignMessageError,
  StreamBrokerError,
  StreamClosedError,
  StreamError,
  StreamFullError,
  StreamValidationError,
  type StreamErrorCode,
} from './errors.js';
export { createInProcessStream, type InProcessStreamOptions } from './in-process.js';
export { createRedisStream, type RedisStreamOptions } from './redis.js';
export { createNatsStream, type NatsStreamOptions } from './nats.js';
export { createKafkaStream, type KafkaStreamOptions } from './kafka.js';
export { openStream, type OpenStreamOptions } from './open.js';
