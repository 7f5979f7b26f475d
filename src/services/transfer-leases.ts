/**
 * Transfer leases: the process receiving an image's data (an upload in `saving`, a stage in
 * `uploading`) renews a lease on the image while bytes move. Start-up recovery and the sweep
 * every node runs reset only abandoned transfers: those of this host's processes that are gone,
 * and those whose lease ended (a node killed or cut off). A transfer another live node is
 * receiving is never touched, which a node's restart used to do.
 *
 * Iris only: Glance resets nothing (an upload cut off by a crash leaves its image `saving`).
 */
import { Conflict } from '../domain/errors.js';
import type { AbandonedTransfers, TransferLease, TransferStatus } from '../domain/image.js';
import type { Clock, HeldTransfer, ImageRepository, TransferLeaseHolder } from '../domain/ports.js';

export interface TransferLeaseDeps {
  readonly images: Pick<ImageRepository, 'holdTransfer' | 'transferOwners' | 'resetSaving'>;
  readonly clock: Clock;
  /** This process, as recorded in the leases it holds (`<node>-<pid>`). */
  readonly owner: string;
  /** How long a lease lasts without renewal ([iris] task_lease_seconds, in ms). */
  readonly leaseMs: number;
  /** True for an owner known to be gone (a process of this host that no longer runs). */
  readonly isDeadOwner: (owner: string) => boolean;
  readonly onError: (message: string, error: unknown, extra: Record<string, unknown>) => void;
}

export type TransferLeases = ReturnType<typeof createTransferLeases>;

export function createTransferLeases(deps: TransferLeaseDeps) {
  const { images, clock, owner, leaseMs } = deps;
  // Four renewals per lease: one late or failed beat does not lose it.
  const heartbeatMs = Math.max(1, Math.floor(leaseMs / 4));
  const leaseFrom = (now: Date): TransferLease => ({ owner, expires_at: new Date(now.getTime() + leaseMs) });

  const holder: TransferLeaseHolder = {
    lease: () => leaseFrom(clock.now()),
    hold(imageId: string, status: TransferStatus): HeldTransfer {
      const lost = new AbortController();
      let released = false;
      const beat = (): void => {
        images.holdTransfer(imageId, status, leaseFrom(clock.now())).then(
          (held) => {
            if (held || released || lost.signal.aborted) return;
            clearInterval(timer);
            lost.abort(new Conflict(`Image ${imageId} is no longer ${status}: another node found its transfer abandoned and reset it.`));
          },
          (e: unknown) => deps.onError('could not renew the lease of an image transfer', e, { image: imageId, status }),
        );
      };
      const timer = setInterval(beat, heartbeatMs);
      timer.unref();
      beat();
      return {
        signal: lost.signal,
        release() {
          released = true;
          clearInterval(timer);
        },
      };
    },
  };

  /** Which transfers are abandoned now, as this process sees it. */
  async function abandoned(): Promise<AbandonedTransfers> {
    const now = clock.now();
    const owners = (await images.transferOwners()).filter((o) => o !== owner && deps.isDeadOwner(o));
    return { owners, leaseEndedBy: now, unleasedBefore: new Date(now.getTime() - leaseMs) };
  }

  return {
    ...holder,
    heartbeatMs,
    abandoned,
    /** Abandoned uploads go back to `queued` (Glance's retry path); returns their ids. */
    async resetAbandonedUploads(): Promise<string[]> {
      return images.resetSaving(await abandoned());
    },
  };
}
