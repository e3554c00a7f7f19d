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
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3/s3-store.js';
export { verifyUpload, type ExpectedUpload, type UploadVerdict } from './verify-upload.js';
