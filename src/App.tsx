import { useCallback } from 'react';
import { ErrorAlert } from './components/ErrorAlert';
import { GenerationProgress } from './components/GenerationProgress';
import { Header } from './components/Header';
import { PackStatus } from './components/PackStatus';
import { PromptForm } from './components/PromptForm';
import { Results } from './components/Result';
import { SoundInput } from './components/SoundInput';
import { ComparisonPanel } from './components/ComparisonPanel';
import type { SoundstepClient } from './worker/client';

/**
 * The page: everything reads the store; actions go through the worker client. On wide screens
 * (styles/layout.css) the generator and its results make one column and the comparison grid a side
 * panel beside them; narrow screens stack the three areas in document order.
 */
export function App({ client }: { client: SoundstepClient }) {
  const readPrompt = useCallback((prompt: string, pack: string) => client.readPrompt(prompt, pack), [client]);
  return (
    <div className="page">
      <Header />
      <main className="layout">
        <div className="workspace">
          <ErrorAlert onRetryLoad={() => client.load()} onRetryJob={() => client.retry()} />
          <PromptForm onGenerate={() => client.generate()} onCancel={() => client.cancel()} onReadPrompt={readPrompt} />
          <SoundInput onGenerate={(edit) => client.generate(edit)} />
          <GenerationProgress />
          <Results
            onDelete={(key) => void client.deleteResult(key)}
            onClear={() => void client.clearResults()}
            onInpaint={(edit) => client.generate(edit)}
          />
        </div>
        <aside className="side-panel" aria-label="Comparison of steps and methods" data-testid="side-panel">
          <ComparisonPanel onFill={() => client.fillGrid()} onCancel={() => client.cancel()} />
        </aside>
        <div className="pack-area">
          <PackStatus onLoad={(url) => client.load(url)} onCancel={() => client.cancelLoad()} />
        </div>
      </main>
      <footer className="muted">
        Runs entirely on this device with onnxruntime-web; nothing you type leaves the page.
      </footer>
    </div>
  );
}
