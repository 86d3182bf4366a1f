import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { browserCacheStorage, cacheUsage, clearPackCache, type CacheUsage } from '../../runtime/pack-cache';
import { DEFAULT_PACK_URL, selectFiles, selectLoadStatus, selectManifest, selectPrecision, useStore, type AppState, type FileProgress } from '../../store';
import type { LoadPhase, LoadSummary } from '../../worker/protocol';
import { LoadCancel } from './LoadCancel';
import { OfflineNote } from './OfflineNote';
import { PackConsent } from './PackConsent';
import { requestPackLoad, useConsent, type ConsentState } from './pack-consent';
import { formatBytes, parsePackUrl, percent } from './pack-url';

// Selectors at module scope (stable identities).
const selectPackUrl = (s: AppState) => s.packUrl;
const selectLoadPhase = (s: AppState) => s.loadPhase;
const selectPackLoad = (s: AppState) => s.packLoad;
const selectLoadMs = (s: AppState) => s.loadMs;
const selectAsking = (s: ConsentState) => s.checking !== null || s.offer !== null;

const PHASE_TEXT: Record<LoadPhase, string> = {
  manifest: 'reading manifest.json',
  files: 'downloading and checking files',
  sessions: 'creating the ONNX sessions',
  'warm-up': 'warming up (one run of each model, so that your first generation is not the slow one)',
};

/** The shipped pack's absolute URL, to keep `?pack=` out of the address for it. */
export function defaultPackUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}${DEFAULT_PACK_URL}`, document.baseURI).href;
}

/**
 * Keeps `?pack=<url>` in the address bar in step with the pack in use, so that a reload
 * loads the same pack (from the browser cache when offline).
 */
function usePackParam(status: AppState['loadStatus'], packUrl: string): void {
  useEffect(() => {
    if (status !== 'ready') return;
    const url = new URL(location.href);
    if (packUrl === defaultPackUrl()) url.searchParams.delete('pack');
    else url.searchParams.set('pack', packUrl);
    if (url.href !== location.href) history.replaceState(history.state, '', url.href);
  }, [status, packUrl]);
}

/** Where the ready pack's files came from, in words. */
function sourceText(load: LoadSummary): string {
  const { filesFromCache: cached, filesFromNetwork: fetched, manifestSource } = load;
  if (fetched === 0 && cached > 0) {
    return manifestSource === 'cache'
      ? 'from the browser cache (offline: the server could not be reached)'
      : 'from the browser cache';
  }
  if (cached === 0) return 'from the network';
  return `${cached} files from the browser cache, ${fetched} from the network`;
}

function FileRow({ name, p }: { name: string; p: FileProgress }) {
  const id = `file-${name.replace(/[^a-zA-Z0-9]+/g, '-')}`;
  const pct = p.done ? 100 : percent(p.loaded, p.total);
  const bytes = p.total ? `${formatBytes(p.done ? p.total : p.loaded)} / ${formatBytes(p.total)}` : formatBytes(p.loaded);
  return (
    <li className="file-row" data-testid="file-row" data-file={name} data-source={p.source ?? ''}>
      <label htmlFor={id} className="file-name" title={name}>
        {name}
      </label>
      <progress id={id} max={100} value={pct} aria-valuetext={`${pct} %, ${bytes}`} />
      <span className="file-bytes muted">{bytes}</span>
      <span className="file-pct">
        {p.done ? (p.source === 'cache' ? 'cached' : 'done') : `${pct} %`}
      </span>
    </li>
  );
}

/** The "load a pack from a URL" form; the field keeps what was typed when a load fails. */
function PackUrlForm({ onLoad, busy }: { onLoad: (url: string) => void; busy: boolean }) {
  const packUrl = useStore(selectPackUrl);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const fieldId = useId();
  const errorId = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parsePackUrl(text || packUrl, document.baseURI);
    if (!parsed.ok) {
      setError(parsed.error);
      return;
    }
    setError(null);
    setText(parsed.url);
    onLoad(parsed.url);
  };
  return (
    <form className="pack-form" onSubmit={submit} noValidate aria-label="Load a model pack from a URL">
      <label htmlFor={fieldId}>Pack URL</label>
      <div className="pack-form-row">
        <input
          id={fieldId}
          type="url"
          inputMode="url"
          autoComplete="url"
          spellCheck={false}
          placeholder={packUrl || 'https://example.com/packs/soundstep-small/'}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
          aria-invalid={error !== null}
          aria-describedby={error ? errorId : undefined}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Loading…' : 'Load'}
        </button>
      </div>
      {error ? (
        <p id={errorId} className="field-error" role="alert" data-testid="pack-url-error">
          {error}
        </p>
      ) : (
        <p className="muted hint">The folder that holds manifest.json. Its files stay cached in this browser for offline use.</p>
      )}
    </form>
  );
}

/** Cache Storage used by packs, and a button to clear it. */
function PackCache({ refreshKey }: { refreshKey: string }) {
  const storage = browserCacheStorage();
  const [usage, setUsage] = useState<CacheUsage | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // the usage is set in a callback, after the read (never synchronously inside the effect below)
  const refresh = useCallback(
    (): Promise<void> => (storage ? cacheUsage(storage).catch(() => null).then(setUsage) : Promise.resolve()),
    [storage],
  );
  useEffect(() => {
    void refresh();
  }, [refresh, refreshKey]);
  if (!storage) return <p className="muted">This browser offers no Cache Storage here: packs are downloaded on every visit.</p>;
  const clear = async () => {
    await clearPackCache(storage);
    setNote('Cache cleared: the next load downloads the pack again.');
    await refresh();
  };
  return (
    <div className="pack-cache">
      <p data-testid="cache-usage" aria-live="polite">
        Browser cache:{' '}
        {usage === null
          ? 'measuring…'
          : usage.entries === 0
            ? 'empty'
            : `${formatBytes(usage.bytes)} in ${usage.entries} files (${usage.packs} pack${usage.packs === 1 ? '' : 's'})`}
        {note && <span className="muted"> {note}</span>}
      </p>
      <button type="button" className="secondary" onClick={() => void clear()} disabled={!usage || usage.entries === 0}>
        Clear cache
      </button>
    </div>
  );
}

/**
 * The model pack: which one is in use and how it was loaded (device, weights, cache), a form
 * to load another from a URL, per-file progress while loading, and the browser cache.
 */
export function PackStatus({ onLoad, onCancel }: { onLoad?: (url: string) => void; onCancel?: () => void }) {
  const status = useStore(selectLoadStatus);
  const files = useStore(selectFiles);
  const manifest = useStore(selectManifest);
  const loadMs = useStore(selectLoadMs);
  const phase = useStore(selectLoadPhase);
  const load = useStore(selectPackLoad);
  const precision = useStore(selectPrecision);
  const packUrl = useStore(selectPackUrl);
  const asking = useConsent(selectAsking);
  usePackParam(status, packUrl);
  const entries = Object.entries(files);
  const done = entries.filter(([, p]) => p.done);
  const totalBytes = entries.reduce((n, [, p]) => n + p.total, 0);
  const loadedBytes = entries.reduce((n, [, p]) => n + (p.done ? p.total : p.loaded), 0);

  return (
    <section className="card pack" aria-labelledby="pack-heading" data-testid="pack-status" data-status={status}>
      <h2 id="pack-heading">Model pack</h2>
      <div aria-live="polite">
        {status === 'ready' && manifest ? (
          <p data-testid="pack-summary">
            <strong>{manifest.name}</strong>: {manifest.clipSeconds} s clips at {manifest.sampleRate / 1000} kHz, prompts up
            to {manifest.maxTokens} tokens.
            {loadMs !== null && (
              <span className="muted">
                {' '}
                Loaded in {(loadMs / 1000).toFixed(1)} s
                {load && (
                  <>
                    {' '}
                    <span data-testid="pack-source">{sourceText(load)}</span> ({formatBytes(load.bytes)}), warm-up{' '}
                    <span data-testid="warm-up-ms">{Math.round(load.warmUpMs)}</span> ms
                  </>
                )}
                .
              </span>
            )}
          </p>
        ) : status === 'failed' ? (
          <p>No model pack is loaded. Load one from a URL below, or retry.</p>
        ) : asking && status === 'idle' ? null : (
          <p data-testid="load-phase" data-phase={phase ?? ''}>
            Loading <span className="url">{packUrl}</span>: {PHASE_TEXT[phase ?? 'manifest']}
            {phase === 'files' && entries.length > 0 && (
              <span className="muted">
                {' '}
                ({done.length} of {entries.length} files, {formatBytes(loadedBytes)} of {formatBytes(totalBytes)})
              </span>
            )}
            …
          </p>
        )}
        {onCancel && <LoadCancel onCancel={onCancel} onLoad={onLoad} />}
        {status === 'ready' && load?.offline && <OfflineNote offline={load.offline} />}
        {precision && (
          <p className="muted" data-testid="pack-precision" data-dtype={precision.dtype}>
            {precision.reason}.
          </p>
        )}
      </div>
      {entries.length > 0 && (
        <details open={status === 'loading'}>
          <summary>
            Files ({done.length} of {entries.length} loaded
            {load && status === 'ready' ? `, ${load.filesFromCache} from the cache` : ''})
          </summary>
          <ul className="file-list" data-testid="file-list">
            {entries.map(([name, p]) => (
              <FileRow key={name} name={name} p={p} />
            ))}
          </ul>
        </details>
      )}
      {onLoad && <PackConsent onDecline={manifest ? null : () => onLoad(defaultPackUrl())} />}
      {onLoad && <PackUrlForm onLoad={(url) => void requestPackLoad(url, onLoad)} busy={status === 'loading' || asking} />}
      <PackCache refreshKey={`${status}:${packUrl}`} />
    </section>
  );
}
