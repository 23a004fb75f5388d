/** The dashboard's `/api/events` stream, parsed incrementally (pure). */
import { DashboardError } from './dashboard_types';

export interface SseEvent {
  event: string;
  data: string;
}

/** Largest pending SSE event (the daemon cuts console lines at 4 KB). */
export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Incremental `text/event-stream` parser (WHATWG HTML, "Server-sent events" §9.2.6): lines end in
 * CRLF, LF or CR; `:` lines are comments (the daemon's keep-alives); `data:` lines join with `\n`;
 * one space after the colon is dropped; a blank line dispatches the event (default type `message`).
 */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private dataBytes = 0;

  /** Feeds a chunk; returns the events it completed. Throws when one event outgrows `maxBytes`. */
  feed(chunk: string, maxBytes = MAX_EVENT_BYTES): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (!m || (m[0] === '\r' && m.index === this.buf.length - 1)) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, out);
    }
    if (this.buf.length + this.dataBytes > maxBytes) {
      throw new DashboardError('protocol', `event stream: an event is larger than ${maxBytes} bytes`);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.event = value;
    else if (name === 'data') {
      this.data.push(value);
      this.dataBytes += value.length + 1;
    }
    // `id` and `retry` are not used by the daemon; unknown fields are ignored per the spec.
  }
}
