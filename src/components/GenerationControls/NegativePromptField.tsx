import { selectDenoiser, useStore, type AppState } from '../../store';

const selectNegativePrompt = (s: AppState): string => s.negativePrompt;

/**
 * The negative prompt: for the guided teacher it replaces the empty prompt in the unconditional
 * branch of classifier-free guidance, so the sound steers away from it. A folded-guidance student
 * has no such branch: the field is disabled and says why. The text is kept either way.
 */
export function NegativePromptField({ disabled }: { disabled: boolean }) {
  const denoiser = useStore(selectDenoiser);
  const value = useStore(selectNegativePrompt);
  const { setNegativePrompt } = useStore.getState();
  const guided = denoiser?.guidance.type === 'classifier-free';
  return (
    <div className="field negative-field">
      <label htmlFor="negative-prompt">Negative prompt</label>
      <input
        id="negative-prompt"
        type="text"
        autoComplete="off"
        value={value}
        placeholder={guided ? 'what to steer away from, e.g. a man speaks' : ''}
        disabled={disabled || !guided}
        aria-describedby="negative-help"
        onChange={(e) => setNegativePrompt(e.target.value)}
      />
      <p id="negative-help" className="hint muted" data-testid="negative-help">
        {guided
          ? 'Replaces the empty prompt in the unconditional branch of guidance: the teacher steers away from it.'
          : 'Not for this student: its guidance is folded into its weights, so there is no unconditional branch to steer.'}
      </p>
    </div>
  );
}
