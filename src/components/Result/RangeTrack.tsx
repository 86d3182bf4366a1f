// The range editor's track: the sound's waveform with the chosen range shaded; dragging across it
// (mouse, pen or touch) chooses a range, snapped outwards to whole latent frames. The number fields
// beside it stay the keyboard's way to the same range, so the track itself is hidden from
// assistive technology.

import { useEffect, useRef, useState } from 'react';
import { rangeFromDrag } from '../../domain/inpaint-range';
import { drawWaveform, samplesOf, WAVE_H, WAVE_W } from '../SoundPictures/paint';

interface RangeTrackProps {
  wav: Blob;
  clipSeconds: number;
  /** seconds per latent frame: the finest range inpainting can change */
  frameSeconds: number;
  from: number;
  to: number;
  onChange: (range: { from: number; to: number }) => void;
}

export function RangeTrack({ wav, clipSeconds, frameSeconds, from, to, onChange }: RangeTrackProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const trackRef = useRef<HTMLDivElement>(null);
  const [dragStart, setDragStart] = useState<number | null>(null);

  useEffect(() => {
    let live = true;
    samplesOf(wav)
      .then((x) => live && canvasRef.current && drawWaveform(canvasRef.current, x))
      .catch(() => undefined); // the fields still work without the picture
    return () => {
      live = false;
    };
  }, [wav]);

  const fractionAt = (clientX: number): number => {
    const box = trackRef.current?.getBoundingClientRect();
    return box && box.width > 0 ? (clientX - box.left) / box.width : 0;
  };
  const select = (a: number, b: number) => onChange(rangeFromDrag(a, b, clipSeconds, frameSeconds));

  // the shaded range; invalid field values (typed, not dragged) shade nothing
  const valid = Number.isFinite(from) && Number.isFinite(to) && from < to;
  const left = valid ? Math.max(0, from / clipSeconds) : 0;
  const width = valid ? Math.max(0, Math.min(1, to / clipSeconds) - left) : 0;

  return (
    <div
      ref={trackRef}
      className="range-track"
      data-testid="range-track"
      aria-hidden="true"
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        e.currentTarget.setPointerCapture(e.pointerId);
        const start = fractionAt(e.clientX);
        setDragStart(start);
        select(start, start);
      }}
      onPointerMove={(e) => {
        if (dragStart !== null) select(dragStart, fractionAt(e.clientX));
      }}
      onPointerUp={() => setDragStart(null)}
      onPointerCancel={() => setDragStart(null)}
    >
      <canvas ref={canvasRef} width={WAVE_W} height={WAVE_H} />
      <div className="range-track-selection" style={{ left: `${left * 100}%`, width: `${width * 100}%` }} />
    </div>
  );
}
