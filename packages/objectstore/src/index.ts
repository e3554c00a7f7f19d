// The S3 adapter is a separate entry point, '@linkforge/objectstore/s3', so the embedded
// default never loads the AWS SDK.
export { ObjectStoreError, type ObjectStoreErrorCode } from './errors.js';
export { assertValidKey, isValidKey, newObjectKey, MAX_KEY_LENGTH } from './keys.js';
export {
  SAFE_IMAGE_TYPES,
  assertValidContentType,
  contentDisposition,
  deliveryHeaders,
  isSafeImageType,
  isValidContentType,
} from './content-type.js';
export {
  SNIFF_BYTES,
  sniffContentType,
  verifyContentType,
  type ContentTypeVerdict,
} from './sniff.js';
export type {
  CompletedPart,
  CreateMultipartUploadInput,
  CreateUploadInput,
  DownloadUrlOptions,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  SignedMultipartUpload,
  SignPartsInput,
  SignedPart,
  SignedUpload,
  SweepOptions,
} from './port.js';
export {
  MAX_DOWNLOAD_EXPIRY_SECONDS,
  MAX_PARTS,
  MAX_SIGNED_PARTS,
  MAX_UPLOAD_EXPIRY_SECONDS,
  planParts,
  type PartPlan,
} from './validate.js';
export {
  LocalDiskObjectStore,
  type LocalDiskObjectStoreOptions,
  type SignedGetResult,
  type SignedPutRequest,
  type SignedPutResult,
} from './local/local-store.js';
export type { HeaderInput, QueryInput } from './local/signing.js';
export { verifyUpload, type ExpectedUpload, type UploadVerdict } from './verify-upload.js';
