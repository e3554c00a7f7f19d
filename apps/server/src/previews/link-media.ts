import { isSafeImageType } from '@linkforge/objectstore';
import { AppError } from '../errors.js';
import type { Queryable } from '../infra/db/database.js';
import type { Link } from '../links/link.js';
import type { LinkExtension, LinkMediaInput, PreparedExtension } from '../links/link-service.js';
import { fileUrl, UPLOAD_ID } from '../uploads/upload.js';
import type { UploadService } from '../uploads/upload-service.js';
import * as repo from './preview-repo.js';

interface MediaState {
  readonly file?: { readonly uploadId: string };
  readonly dropFile?: boolean;
  readonly overrides: repo.Overrides;
}

/** The preview fields of a link view (added to the links API's answers). */
export interface LinkMediaView {
  /** Effective description and image: the owner's override, else what was fetched. */
  description: string | null;
  image: string | null;
  preview: {
    status: string;
    title: string | null;
    description: string | null;
    image: string | null;
    siteName: string | null;
    fetchedAt: string | null;
  };
  file: {
    uploadId: string;
    fileName: string;
    contentType: string;
    size: number;
    url: string;
  } | null;
}

/** Effective preview values of a row: overrides win; a file link falls back to its file. */
export function effectivePreview(
  row: repo.LinkMediaRow,
  linkTitle: string | null,
  publicBaseUrl: string,
): {
  title: string | null;
  description: string | null;
  image: string | null;
  siteName: string | null;
} {
  const file =
    row.upload_id !== null && row.file_name !== null
      ? { id: row.upload_id, fileName: row.file_name, contentType: row.content_type ?? '' }
      : undefined;
  const fileImage =
    file !== undefined && isSafeImageType(file.contentType) ? fileUrl(publicBaseUrl, file) : null;
  return {
    title: linkTitle ?? row.fetched_title ?? file?.fileName ?? null,
    description: row.description ?? row.fetched_description ?? null,
    image: row.image ?? row.fetched_image ?? fileImage,
    siteName: row.fetched_site_name ?? null,
  };
}

function checkImageUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AppError('validation_failed', 'image must be an absolute http(s) URL.');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) {
    throw new AppError('validation_failed', 'image must be an http(s) URL without credentials.');
  }
  return u.href;
}

function cleanDescription(raw: string | null): string | null {
  if (raw === null) return null;
  // eslint-disable-next-line no-control-regex
  const text = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text === '' ? null : text;
}

/**
 * Previews and file links as a {@link LinkExtension}: `uploadId` turns a new link into a file
 * link, `description` / `image` / `imageUploadId` override the fetched preview. Every upload
 * named must be complete and belong to the link's workspace.
 */
export class LinkMedia implements LinkExtension {
  readonly #filePath: string;

  constructor(
    private readonly deps: {
      readonly db: Queryable;
      readonly uploads: UploadService;
      readonly publicBaseUrl: string;
    },
  ) {
    this.#filePath = `${deps.publicBaseUrl}/files/`;
  }

  /** The upload id of a URL that points at a file this service serves, if it is one. */
  ownFileId(url: string): string | undefined {
    if (!url.startsWith(this.#filePath)) return undefined;
    const id = url.slice(this.#filePath.length).split(/[/?#]/)[0] ?? '';
    return UPLOAD_ID.test(id) ? id : undefined;
  }

  async prepare(
    workspaceId: number,
    input: LinkMediaInput & { readonly url?: string | undefined },
    mode: 'create' | 'update',
  ): Promise<PreparedExtension | undefined> {
    const { uploads, publicBaseUrl } = this.deps;
    const changed: string[] = [];
    const overrides: repo.Overrides = {};
    let file: MediaState['file'];
    let url: string | undefined;
    // The dashboard may hand back the served URL of an upload: that makes a file link too.
    const uploadId =
      input.uploadId ??
      (mode === 'create' && input.url !== undefined ? this.ownFileId(input.url) : undefined);
    if (uploadId !== undefined) {
      if (input.uploadId !== undefined && input.url !== undefined) {
        throw new AppError('validation_failed', 'Give either url or uploadId, not both.');
      }
      const upload = await uploads.requireComplete(workspaceId, uploadId);
      file = { uploadId: upload.id };
      url = fileUrl(publicBaseUrl, upload);
    }
    if (input.description !== undefined) {
      overrides.description = cleanDescription(input.description);
      changed.push('description');
    }
    if (input.image !== undefined && input.imageUploadId !== undefined) {
      throw new AppError('validation_failed', 'Give either image or imageUploadId, not both.');
    }
    if (input.image !== undefined) {
      overrides.image = input.image === null ? null : checkImageUrl(input.image);
      overrides.imageUploadId = null;
      changed.push('image');
    }
    if (input.imageUploadId !== undefined) {
      if (input.imageUploadId === null) {
        overrides.image = null;
        overrides.imageUploadId = null;
      } else {
        const image = await uploads.requireComplete(workspaceId, input.imageUploadId, true);
        overrides.image = fileUrl(publicBaseUrl, image);
        overrides.imageUploadId = image.id;
      }
      changed.push('image');
    }
    const dropFile = mode === 'update' && input.url !== undefined;
    if (file === undefined && changed.length === 0 && !dropFile) return undefined;
    const state: MediaState = {
      overrides,
      ...(file !== undefined ? { file } : {}),
      ...(dropFile ? { dropFile } : {}),
    };
    return { ...(url !== undefined ? { url } : {}), changed, state };
  }

  async save(tx: Queryable, link: Link, prepared: PreparedExtension): Promise<void> {
    const state = prepared.state as MediaState;
    if (state.file !== undefined) await repo.insertFileLink(tx, link.id, state.file.uploadId);
    // A new destination ends a file link: the link no longer serves the file.
    if (state.dropFile === true) await repo.deleteFileLink(tx, link.id);
    await repo.saveOverrides(tx, link.id, state.overrides);
  }

  /**
   * The preview fields of a link just created with no preview or file fields: nothing fetched
   * yet, nothing overridden. Undefined for a link to a file this service serves (a file link).
   */
  blankView(link: Link): LinkMediaView | undefined {
    if (this.ownFileId(link.url) !== undefined) return undefined;
    return {
      description: null,
      image: null,
      preview: {
        status: 'none',
        title: link.title,
        description: null,
        image: null,
        siteName: null,
        fetchedAt: null,
      },
      file: null,
    };
  }

  /** Preview and file fields for link views, one query for all of them. */
  async views(links: readonly Link[]): Promise<ReadonlyMap<number, LinkMediaView>> {
    const rows = await repo.findMedia(
      this.deps.db,
      links.map((l) => l.id),
    );
    const titles = new Map(links.map((l) => [l.id, l.title]));
    const out = new Map<number, LinkMediaView>();
    for (const row of rows) {
      const id = Number(row.link_id);
      const eff = effectivePreview(row, titles.get(id) ?? null, this.deps.publicBaseUrl);
      out.set(id, {
        description: eff.description,
        image: eff.image,
        preview: {
          status: row.fetch_status ?? 'none',
          title: eff.title,
          description: eff.description,
          image: eff.image,
          siteName: eff.siteName,
          fetchedAt: row.fetched_at?.toISOString() ?? null,
        },
        file:
          row.upload_id !== null && row.file_name !== null
            ? {
                uploadId: row.upload_id,
                fileName: row.file_name,
                contentType: row.content_type ?? 'application/octet-stream',
                size: Number(row.size),
                url: fileUrl(this.deps.publicBaseUrl, {
                  id: row.upload_id,
                  fileName: row.file_name,
                }),
              }
            : null,
      });
    }
    return out;
  }
}
