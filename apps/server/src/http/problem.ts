import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../errors.js';

/** Sends an RFC 9457 problem document. */
export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  const { title } = ERRORS[err.code];
  return reply
    .code(err.status)
    .type('application/problem+json')
    .send({
      type: `https://linkforge.dev/errors/${err.code}`,
      title,
      status: err.status,
      code: err.code,
      detail: err.message,
      ...err.extra,
    });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
};

/** Every error leaves as problem+json with a stable code; internals are logged, not sent. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) return sendProblem(reply, error);
    if (error.validation !== undefined) {
      return sendProblem(reply, new AppError('validation_failed', describeValidation(error)));
    }
    const mapped = error.code !== undefined ? FASTIFY_CODES[error.code] : undefined;
    if (mapped !== undefined) return sendProblem(reply, new AppError(mapped, error.message));
    if (error instanceof SyntaxError || error.statusCode === 400) {
      return sendProblem(
        reply,
        new AppError('malformed_json', 'The request body is not valid JSON.'),
      );
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).type('application/problem+json').send({
        title: error.message,
        status: error.statusCode,
        code: 'validation_failed',
        detail: error.message,
      });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, new AppError('internal', 'Something went wrong on our side.'));
  });
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (first === undefined) return error.message;
  const where = `${error.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}`;
  if (first.keyword === 'additionalProperties') {
    const prop = (first.params as { additionalProperty?: string }).additionalProperty;
    return `${where} has an unknown field "${prop}".`;
  }
  return `${where} ${first.message ?? 'is invalid'}.`;
}
