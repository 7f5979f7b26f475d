/**
 * The text of Glance's error notifications: a failed upload sends `image.upload` at priority
 * ERROR with a sentence as its payload (glance/notifier.py ImageProxy.set_data), chosen by what
 * went wrong. Iris's errors map onto Glance's cases; anything else is the "internal error" one.
 */
import { Conflict, Forbidden, Gone, Invalid, NotFound, ServiceUnavailable, StorageFull, TooLarge } from '../domain/errors.js';

export function uploadFailureText(imageId: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof StorageFull) return `Image storage media is full: ${reason}`;
  if (error instanceof ServiceUnavailable) return `Insufficient permissions on image storage media: ${reason}`;
  if (error instanceof Invalid || error instanceof TooLarge) return `Cannot save data for image ${imageId}: ${reason}`;
  if (error instanceof Conflict) return `Unable to upload duplicate image data for image ${imageId}: ${reason}`;
  if (error instanceof Forbidden) return `Not allowed to upload image data for image ${imageId}: ${reason}`;
  if (error instanceof NotFound || error instanceof Gone) {
    return `Image ${imageId} could not be found after upload. The image may have been deleted during the upload: ${reason}`;
  }
  return `Failed to upload image data for image ${imageId} due to internal error: ${reason}`;
}
