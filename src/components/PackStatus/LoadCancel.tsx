import { selectError, useStore, type AppState } from '../../store';

const selectPackUrl = (s: AppState) => s.packUrl;
const selectStatus = (s: AppState) => s.loadStatus;

/**
 * While a pack loads: a Cancel button (the worker aborts its downloads). After a cancelled load
 * with no pack in use: says so and offers to load it again, which continues from the files that
 * had finished downloading (they stay in the browser cache).
 */
export function LoadCancel({ onCancel, onLoad }: { onCancel: () => void; onLoad: ((url: string) => void) | undefined }) {
  const status = useStore(selectStatus);
  const error = useStore(selectError);
  const packUrl = useStore(selectPackUrl);
  if (status === 'loading') {
    return (
      <button type="button" className="secondary" data-testid="cancel-load" onClick={onCancel}>
        Cancel loading
      </button>
    );
  }
  if (status !== 'failed' || error?.during !== 'load' || error.kind !== 'cancelled') return null;
  return (
    <p data-testid="load-cancelled" role="status">
      Loading was cancelled; the files that had finished downloading stay in this browser.{' '}
      {onLoad && (
        <button type="button" className="primary" onClick={() => onLoad(packUrl)}>
          Load again
        </button>
      )}
    </p>
  );
}
