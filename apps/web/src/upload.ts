import { api, ApiError } from './api.js';
import type { PendingUpload, Upload } from './types.js';

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'];
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_FILE_BYTES = 100 * 1024 * 1024;

/** What is wrong with a file before any byte is sent, or null. */
export function checkFile(
  file: { name: string; type: string; size: number },
  kind: 'image' | 'file',
): string | null {
  if (file.size === 0) return `"${file.name}" is empty.`;
  if (kind === 'image') {
    if (!IMAGE_TYPES.includes(file.type))
      return `"${file.name}" is not a PNG, JPEG, GIF, WebP or AVIF image.`;
    if (file.size > MAX_IMAGE_BYTES)
      return `"${file.name}" is ${(file.size / 1048576).toFixed(1)} MB; images may be at most 5 MB.`;
  } else if (file.size > MAX_FILE_BYTES) {
    return `"${file.name}" is ${(file.size / 1048576).toFixed(1)} MB; files may be at most 100 MB.`;
  }
  return null;
}

/**
 * The pre-signed flow: ask the API for an upload slot, PUT the bytes straight to the signed
 * URL (XHR, for progress events), then ask the API to verify and record it.
 */
export async function uploadFile(
  file: File,
  onProgress: (fraction: number) => void,
): Promise<Upload> {
  let pending: PendingUpload;
  try {
    pending = await api<PendingUpload>('POST', '/api/v1/uploads', {
      fileName: file.name,
      contentType: file.type || 'application/octet-stream',
      size: file.size,
    });
  } catch (err) {
    if (err instanceof ApiError && err.missingRoute)
      throw new ApiError(404, 'uploads_unavailable', 'Uploads are not enabled on this server yet.');
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(pending.method ?? 'PUT', pending.uploadUrl);
    // The signed URL is the authorisation: no cookie-bound header goes with it, so it works
    // the same against the app's own store and an S3-compatible one.
    const headers: Record<string, string> = {
      'content-type': file.type || 'application/octet-stream',
      ...(pending.headers ?? {}),
    };
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      let detail = `The storage refused the file (HTTP ${xhr.status}).`;
      try {
        const problem = JSON.parse(xhr.responseText) as { detail?: string };
        if (problem.detail) detail = problem.detail;
      } catch {
        // not JSON (an object store's XML error): keep the generic message
      }
      reject(new ApiError(xhr.status, 'upload_failed', detail));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload was interrupted.'));
    xhr.send(file);
  });
  return api<Upload>('POST', `/api/v1/uploads/${encodeURIComponent(pending.id)}/complete`, {});
}
