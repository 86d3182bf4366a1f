import { useRef, useState } from 'react';

/** The one player of the panel: a cell or an A/B side plays through it, one at a time. */
export interface Player {
  playing: string | null;
  toggle(id: string, url: string): void;
}

export function usePlayer(): { player: Player; audioRef: React.RefObject<HTMLAudioElement | null> } {
  const audioRef = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const toggle = (id: string, url: string) => {
    const audio = audioRef.current;
    if (!audio) return;
    if (playing === id) {
      audio.pause();
      setPlaying(null);
      return;
    }
    audio.src = url;
    audio.currentTime = 0;
    setPlaying(id);
    audio.play().catch(() => setPlaying(null));
  };
  return { player: { playing, toggle }, audioRef };
}
