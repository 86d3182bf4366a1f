import { selectDevice, selectPrecision, useStore } from '../../store';

const BACKEND_LABEL = { webgpu: 'WebGPU', wasm: 'WASM', cpu: 'CPU' } as const;

/** Title, one line on what the app does, and which device runs the models. */
export function Header() {
  const device = useStore(selectDevice);
  const precision = useStore(selectPrecision);
  return (
    <header className="header">
      <h1>soundstep</h1>
      <p className="tagline">Text to sound, generated in your browser by a latent diffusion model.</p>
      <p className="device" data-testid="device" aria-live="polite">
        <span className="label">Device:</span>{' '}
        {device ? (
          <>
            <strong data-testid="device-backend">{BACKEND_LABEL[device.backend]}</strong>
            <span className="muted"> · {device.reason}</span>
            {precision && (
              <span className="muted" data-testid="device-precision" data-dtype={precision.dtype}>
                {' '}
                · {precision.reason}
              </span>
            )}
          </>
        ) : (
          <span className="muted">choosing…</span>
        )}
      </p>
    </header>
  );
}
