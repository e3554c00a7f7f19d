/** An upload as stored: metadata only, the bytes are in the object store under `objectKey`. */
export interface Upload {
  readonly id: string;
  readonly workspaceId: number;
  readonly objectKey: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
  readonly status: 'pending' | 'complete' | 'rejected' | 'expired';
  readonly multipartId: string | null;
  readonly partSize: number | null;
  readonly sniffedType: string | null;
  readonly rejectReason: string | null;
  readonly createdAt: Date;
  readonly pendingUntil: Date;
  readonly completedAt: Date | null;
}

/** Upload ids: 128 random bits, base64url (they also name public file URLs). */
export const UPLOAD_ID = /^[A-Za-z0-9_-]{22}$/;

/** The public JSON form of an upload. */
export interface UploadView {
  id: string;
  status: Upload['status'];
  fileName: string;
  contentType: string;
  size: number;
  multipart: boolean;
  /** Where the file is served once complete (public: the id is the capability). */
  url: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** Public URL of an upload's bytes. The file name is for people and download tools only. */
export function fileUrl(publicBaseUrl: string, upload: Pick<Upload, 'id' | 'fileName'>): string {
  return `${publicBaseUrl}/files/${upload.id}/${encodeURIComponent(upload.fileName)}`;
}

export function toUploadView(upload: Upload, publicBaseUrl: string): UploadView {
  return {
    id: upload.id,
    status: upload.status,
    fileName: upload.fileName,
    contentType: upload.contentType,
    size: upload.size,
    multipart: upload.multipartId !== null,
    url: upload.status === 'complete' ? fileUrl(publicBaseUrl, upload) : null,
    createdAt: upload.createdAt.toISOString(),
    completedAt: upload.completedAt?.toISOString() ?? null,
  };
}
