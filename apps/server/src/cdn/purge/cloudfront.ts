import { randomUUID } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type { PurgeRequest, Purger } from './purger.js';

export interface CloudFrontOptions {
  readonly distributionId: string;
  /** For tests and compatible APIs; credentials come from the AWS default chain. */
  readonly client?: CloudFrontClient;
}

/**
 * CloudFront: invalidations by path (CloudFront has no cache tags, so keys are ignored and
 * every purge request also names the link's paths). One invalidation per batch.
 */
export class CloudFrontPurger implements Purger {
  readonly name = 'cloudfront';
  readonly maxBatch = 1000;
  readonly #client: CloudFrontClient;

  constructor(private readonly options: CloudFrontOptions) {
    this.#client = options.client ?? new CloudFrontClient({});
  }

  async purge(request: PurgeRequest): Promise<void> {
    if (request.paths.length === 0) return;
    await this.#client.send(
      new CreateInvalidationCommand({
        DistributionId: this.options.distributionId,
        InvalidationBatch: {
          CallerReference: randomUUID(),
          Paths: { Quantity: request.paths.length, Items: [...request.paths] },
        },
      }),
    );
  }
}
