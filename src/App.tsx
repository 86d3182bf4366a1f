import { ErrorAlert } from './components/ErrorAlert';
import { GenerationProgress } from './components/GenerationProgress';
import { Header } from './components/Header';
import { PackStatus } from './components/PackStatus';
import { PromptForm } from './components/PromptForm';
import { Results } from './components/Result';
import { ComparisonPanel } from './components/ComparisonPanel';
import type { SoundstepClient } from './worker/client';

/** The page: everything reads the store; actions go through the worker client. */
export function App({ client }: { client: SoundstepClient }) {
  return (
    <div className="page">
      <Header />
      <main>
        <ErrorAlert onRetryLoad={() => client.load()} />
        <PromptForm onGenerate={() => client.generate()} onCancel={() => client.cancel()} />
        <GenerationProgress />
        <Results onDelete={(key) => void client.deleteResult(key)} onClear={() => void client.clearResults()} />
        <ComparisonPanel onFill={() => client.fillGrid()} onCancel={() => client.cancel()} />
        <PackStatus onLoad={(url) => client.load(url)} />
      </main>
      <footer className="muted">
        Runs entirely on this device with onnxruntime-web; nothing you type leaves the page.
      </footer>
    </div>
  );
}
