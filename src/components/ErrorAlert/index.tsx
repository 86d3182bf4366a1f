import { selectError, useStore } from '../../store';

/** The one error region. Names the pack file at fault; offers a retry when the pack failed. */
export function ErrorAlert({ onRetryLoad, onRetryJob }: { onRetryLoad: () => void; onRetryJob?: () => void }) {
  const error = useStore(selectError);
  const clearError = useStore((s) => s.clearError);
  if (!error) return null;
  const what =
    error.during === 'load' ? 'The model pack could not be loaded' : error.during === 'generate' ? 'Generation failed' : 'The request failed';
  return (
    <div role="alert" className="alert" data-testid="error">
      <p>
        <strong>{what}.</strong>{' '}
        {error.file && (
          <>
            File <code data-testid="error-file">{error.file}</code>:{' '}
          </>
        )}
        {error.message}
      </p>
      <div className="alert-actions">
        {error.retry && onRetryJob && (
          <button type="button" onClick={onRetryJob}>
            Retry
          </button>
        )}
        {!error.recoverable && (
          <button type="button" onClick={onRetryLoad}>
            Retry loading
          </button>
        )}
        <button type="button" className="secondary" onClick={clearError}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
