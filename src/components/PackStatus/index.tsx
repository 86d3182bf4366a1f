import { selectFiles, selectLoadStatus, selectManifest, useStore, type FileProgress } from '../../store';

function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

function FileRow({ name, p }: { name: string; p: FileProgress }) {
  const id = `file-${name.replace(/[^a-zA-Z0-9]+/g, '-')}`;
  return (
    <li className="file-row">
      <label htmlFor={id} className="file-name">
        {name}
      </label>
      <progress id={id} max={p.total || 1} value={p.done ? p.total || 1 : p.loaded} />
      <span className="file-bytes muted">
        {p.done ? 'done' : p.total ? `${formatBytes(p.loaded)} / ${formatBytes(p.total)}` : formatBytes(p.loaded)}
      </span>
    </li>
  );
}

/** The model pack: per-file download progress while loading, a summary once ready. */
export function PackStatus() {
  const status = useStore(selectLoadStatus);
  const files = useStore(selectFiles);
  const manifest = useStore(selectManifest);
  const loadMs = useStore((s) => s.loadMs);
  const entries = Object.entries(files);

  return (
    <section className="card pack" aria-labelledby="pack-heading">
      <h2 id="pack-heading">Model</h2>
      {status === 'ready' && manifest ? (
        <p data-testid="pack-summary">
          <strong>{manifest.name}</strong>: {manifest.clipSeconds} s clips at {manifest.sampleRate / 1000} kHz, prompts up
          to {manifest.maxTokens} tokens.
          {loadMs !== null && <span className="muted"> Loaded in {(loadMs / 1000).toFixed(1)} s.</span>}
        </p>
      ) : status === 'failed' ? (
        <p>The model pack did not load.</p>
      ) : (
        <p aria-live="polite">Loading the model pack…</p>
      )}
      {entries.length > 0 && (
        <details open={status === 'loading'}>
          <summary>
            Files ({entries.filter(([, p]) => p.done).length} of {entries.length} loaded)
          </summary>
          <ul className="file-list" data-testid="file-list">
            {entries.map(([name, p]) => (
              <FileRow key={name} name={name} p={p} />
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
