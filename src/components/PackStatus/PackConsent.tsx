import { acceptOffer, declineOffer, useConsent, type ConsentState } from './pack-consent';
import { formatBytes } from './pack-url';

const selectChecking = (s: ConsentState) => s.checking;
const selectOffer = (s: ConsentState) => s.offer;

/**
 * Asks before a pack from another site is downloaded: its host and total size, Download and
 * Cancel. `onDecline` loads the shipped pack when no pack is in use (null otherwise).
 */
export function PackConsent({ onDecline }: { onDecline: (() => void) | null }) {
  const checking = useConsent(selectChecking);
  const offer = useConsent(selectOffer);
  if (checking) {
    return (
      <p data-testid="pack-consent-checking">
        Reading manifest.json from <span className="url">{new URL(checking).host}</span> to see how large the pack is…
      </p>
    );
  }
  if (!offer) return null;
  const size = formatBytes(offer.bytes);
  return (
    <div className="pack-consent" role="group" aria-labelledby="pack-consent-text" data-testid="pack-consent">
      <p id="pack-consent-text">
        <strong>{offer.name}</strong> is on another site, <strong data-testid="pack-consent-host">{offer.host}</strong>: its{' '}
        {offer.files} files come to <strong data-testid="pack-consent-size">{size}</strong>. Nothing has been downloaded
        besides its manifest. Download it?
      </p>
      <p className="url muted" data-testid="pack-consent-url">
        {offer.url}
      </p>
      <div className="pack-consent-actions">
        <button type="button" className="primary" onClick={acceptOffer}>
          Download {size}
        </button>
        <button type="button" className="secondary" onClick={() => declineOffer(onDecline)}>
          Cancel
        </button>
      </div>
    </div>
  );
}
