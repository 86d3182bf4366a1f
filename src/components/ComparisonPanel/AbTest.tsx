import { useState } from 'react';
import { assignAB, randomPair, type AbChoice, type GridCellSpec } from '../../compare/grid';
import { useStore, type GridCellState } from '../../store';
import type { Player } from './player';

const CHOICE_TEXT: Record<AbChoice, string> = { A: 'You preferred A', B: 'You preferred B', tie: 'You could not tell them apart' };

/**
 * Blind A/B: two filled cells play as "A" and "B" in random order; the listener picks one (or
 * "can't tell"), then the page reveals which was which. The tally lasts the visit.
 */
export function AbTest({ plan, grid, player }: { plan: GridCellSpec[]; grid: Record<string, GridCellState>; player: Player }) {
  const ab = useStore((s) => s.ab);
  const tally = useStore((s) => s.abTally);
  const { abStarted, abChosen, abClosed } = useStore.getState();
  const filled = plan.filter((c) => grid[c.key]?.status === 'done' && grid[c.key]?.result);
  const labelOf = (key: string): string => plan.find((c) => c.key === key)?.label ?? key;
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const [problem, setProblem] = useState('');
  const one = filled.some((c) => c.key === first) ? first : (filled[0]?.key ?? '');
  const two = filled.some((c) => c.key === second) && second !== one ? second : (filled.find((c) => c.key !== one)?.key ?? '');

  const urlOf = (key: string): string | null => grid[key]?.result?.url ?? null;
  const play = (side: 'A' | 'B') => {
    if (!ab) return;
    const url = urlOf(side === 'A' ? ab.order[0] : ab.order[1]);
    if (url) player.toggle(`ab-${side}`, url);
  };
  const start = (pair: [string, string]) => {
    setProblem('');
    try {
      abStarted(assignAB(pair[0], pair[1]));
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section className="ab" aria-labelledby="ab-heading">
      <h3 id="ab-heading">Blind A/B</h3>
      {filled.length < 2 ? (
        <p className="muted" data-testid="ab-empty">
          Fill at least two cells of the grid to compare them without knowing which is which.
        </p>
      ) : !ab ? (
        <div className="ab-setup">
          <CellSelect id="ab-first" label="First cell" cells={filled} value={one} onChange={setFirst} />
          <CellSelect id="ab-second" label="Second cell" cells={filled} value={two} onChange={setSecond} />
          <div className="actions">
            <button type="button" className="primary" onClick={() => start([one, two])}>
              Start blind round
            </button>
            <button type="button" className="secondary" onClick={() => start(randomPair(filled.map((c) => c.key)))}>
              Random pair
            </button>
          </div>
          {problem && (
            <p className="error-text" role="alert">
              {problem}: choose two different cells.
            </p>
          )}
        </div>
      ) : (
        <div className="ab-round" data-testid="ab-round">
          <div className="actions">
            {(['A', 'B'] as const).map((side) => (
              <button
                key={side}
                type="button"
                className="ab-play"
                aria-pressed={player.playing === `ab-${side}`}
                onClick={() => play(side)}
              >
                {player.playing === `ab-${side}` ? `■ Stop ${side}` : `▶ Play ${side}`}
              </button>
            ))}
          </div>
          {ab.choice === null ? (
            <div role="group" aria-labelledby="ab-question" className="actions">
              <p id="ab-question" className="ab-question">
                Which do you prefer?
              </p>
              <button type="button" onClick={() => abChosen('A')}>
                I prefer A
              </button>
              <button type="button" onClick={() => abChosen('B')}>
                I prefer B
              </button>
              <button type="button" className="secondary" onClick={() => abChosen('tie')}>
                Can’t tell
              </button>
            </div>
          ) : (
            <>
              <p role="status" className="ab-reveal" data-testid="ab-reveal">
                A was <strong data-testid="ab-a">{labelOf(ab.order[0])}</strong>; B was{' '}
                <strong data-testid="ab-b">{labelOf(ab.order[1])}</strong>. {CHOICE_TEXT[ab.choice]}
                {ab.choice !== 'tie' && ` (${labelOf(ab.choice === 'A' ? ab.order[0] : ab.order[1])})`}.
              </p>
              <button type="button" onClick={abClosed}>
                Next round
              </button>
            </>
          )}
        </div>
      )}
      {tally.rounds > 0 && (
        <table className="tally" data-testid="ab-tally">
          <caption>
            This visit: {tally.rounds} {tally.rounds === 1 ? 'round' : 'rounds'}, {tally.ties} can’t tell
          </caption>
          <thead>
            <tr>
              <th scope="col">Cell</th>
              <th scope="col">Preferred</th>
              <th scope="col">Rounds</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(tally.played).map(([key, rounds]) => (
              <tr key={key} data-testid={`tally-${key}`}>
                <th scope="row">{labelOf(key)}</th>
                <td>{tally.wins[key] ?? 0}</td>
                <td>{rounds}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A labelled choice among the filled cells. */
function CellSelect(props: {
  id: string;
  label: string;
  cells: readonly { key: string; label: string }[];
  value: string;
  onChange: (key: string) => void;
}): React.JSX.Element {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.cells.map((c) => (
          <option key={c.key} value={c.key}>
            {c.label}
          </option>
        ))}
      </select>
    </div>
  );
}
