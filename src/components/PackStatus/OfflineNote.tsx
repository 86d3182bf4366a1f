import { useEffect, useState } from 'react';
import type { OfflineStatus } from '../../worker/offline-keeper';

/** What the browser said to navigator.storage.persist(): kept until the user clears it, or not. */
type Persistence = 'asking' | 'granted' | 'denied' | 'unsupported';

/** The page's StorageManager (persist() is Window-only: the worker cannot ask). */
interface StorageLike {
  persisted?: () => Promise<boolean>;
  persist?: () => Promise<boolean>;
}

/** Asks once for persistent storage while `wanted` (the pack is kept offline), and says what the browser answered. */
function usePersistence(wanted: boolean): Persistence {
  const [state, setState] = useState<Persistence>('asking');
  useEffect(() => {
    if (!wanted) return;
    const storage = (navigator as { storage?: StorageLike }).storage;
    if (!storage?.persist || !storage.persisted) {
      queueMicrotask(() => setState('unsupported'));
      return;
    }
    const { persist, persisted } = storage;
    let live = true;
    void persisted
      .call(storage)
      .then((already) => already || persist.call(storage))
      .then(
        (granted) => live && setState(granted ? 'granted' : 'denied'),
        () => live && setState('unsupported'),
      );
    return () => {
      live = false;
    };
  }, [wanted]);
  return state;
}

const PERSISTENCE_TEXT: Record<Persistence, string> = {
  asking: '',
  granted: ' The browser keeps it until you clear it.',
  denied: ' The browser did not grant this site persistent storage, so it may still clear the pack when space runs low.',
  unsupported: ' This browser cannot keep it for sure: it may clear the pack when space runs low.',
};

/** Whether the loaded pack works offline, and if not why and what to do (the worker's sentence). */
export function OfflineNote({ offline }: { offline: OfflineStatus }) {
  const persistence = usePersistence(offline.available);
  return (
    <p className={offline.available ? 'muted' : 'note'} data-testid="pack-offline" data-available={String(offline.available)} data-persisted={offline.available ? persistence : ''}>
      {offline.reason}
      {offline.available && PERSISTENCE_TEXT[persistence]}
    </p>
  );
}
