// Unit tests of the SSE parser and of the notice helpers of src/events.ts.
import { describe, expect, it } from "vitest";
import { initialSseState, mergeNotices, noticeOf, parseSse, type Notice, type SseMessage, type SseState } from "./events";

/** Feed chunks one after another, collecting every message. */
function feed(chunks: string[], state: SseState = initialSseState()): { state: SseState; messages: SseMessage[] } {
  const messages: SseMessage[] = [];
  let s = state;
  for (const c of chunks) {
    const out = parseSse(c, s);
    s = out.state;
    messages.push(...out.messages);
  }
  return { state: s, messages };
}

describe("parseSse", () => {
  it("parses one complete notice message", () => {
    const { messages, state } = feed(['id: 7\nevent: notice\ndata: {"id":7,"type":"box_online"}\n\n']);
    expect(messages).toEqual([{ id: "7", event: "notice", data: '{"id":7,"type":"box_online"}' }]);
    expect(state.lastEventId).toBe("7");
    expect(state.buffer).toBe("");
  });

  it("is pure: the given state is not changed", () => {
    const s0 = initialSseState();
    const frozen = JSON.stringify(s0);
    parseSse("id: 1\ndata: x\n", s0);
    expect(JSON.stringify(s0)).toBe(frozen);
  });

  it("joins a message split across chunks at any place", () => {
    const text = 'id: 12\nevent: notice\ndata: {"id":12,"type":"acked"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { messages } = feed([text.slice(0, cut), text.slice(cut)]);
      expect(messages, `cut at ${cut}`).toEqual([{ id: "12", event: "notice", data: '{"id":12,"type":"acked"}' }]);
    }
  });

  it("handles one character per chunk", () => {
    const text = "id: 3\nevent: notice\ndata: a\n\nid: 4\nevent: notice\ndata: b\n\n";
    const { messages } = feed([...text]);
    expect(messages.map((m) => [m.id, m.data])).toEqual([
      ["3", "a"],
      ["4", "b"],
    ]);
  });

  it("does not dispatch before the blank line", () => {
    const { messages, state } = feed(["id: 1\nevent: notice\ndata: x\n"]);
    expect(messages).toEqual([]);
    expect(state.data).toEqual(["x"]);
    const more = parseSse("\n", state);
    expect(more.messages).toEqual([{ id: "1", event: "notice", data: "x" }]);
  });

  it("joins multi-line data with newlines", () => {
    const { messages } = feed(["data: first\ndata: second\ndata:third\n\n"]);
    expect(messages).toEqual([{ id: null, event: "message", data: "first\nsecond\nthird" }]);
  });

  it("keeps an empty data line", () => {
    const { messages } = feed(["data\ndata: x\n\n"]);
    expect(messages[0].data).toBe("\nx");
  });

  it("strips only one space after the colon", () => {
    const { messages } = feed(["data:  two spaces\n\n"]);
    expect(messages[0].data).toBe(" two spaces");
  });

  it("ignores comments and keep-alives", () => {
    const { messages } = feed([": keep-alive\n\n", ":\n", "id: 5\n: a comment in the middle\ndata: y\n\n", ": ping\n\n"]);
    expect(messages).toEqual([{ id: "5", event: "message", data: "y" }]);
  });

  it("ignores a blank line with no data (no empty message)", () => {
    const { messages } = feed(["\n\n\nevent: notice\n\n"]);
    expect(messages).toEqual([]);
  });

  it("carries the last id over to later messages without an id, as the spec says", () => {
    const { messages } = feed(["id: 9\ndata: a\n\ndata: b\n\n"]);
    expect(messages.map((m) => m.id)).toEqual(["9", "9"]);
  });

  it("starts from a given last id (reconnection)", () => {
    const { messages } = feed(["data: a\n\n"], initialSseState("41"));
    expect(messages[0].id).toBe("41");
  });

  it("an empty id resets the last id; an id with NUL is ignored", () => {
    expect(feed(["id: 3\ndata: a\n\nid\ndata: b\n\n"]).messages.map((m) => m.id)).toEqual(["3", ""]);
    expect(feed(["id: 3\ndata: a\n\nid: 4\u00005\ndata: b\n\n"]).messages.map((m) => m.id)).toEqual(["3", "3"]);
  });

  it("resets the event name after each message", () => {
    const { messages } = feed(["event: notice\ndata: a\n\ndata: b\n\n"]);
    expect(messages.map((m) => m.event)).toEqual(["notice", "message"]);
  });

  it("accepts CRLF and CR line endings, also a CRLF split between chunks", () => {
    expect(feed(["id: 1\r\ndata: a\r\n\r\n"]).messages).toEqual([{ id: "1", event: "message", data: "a" }]);
    expect(feed(["id: 2\rdata: b\r\r"]).messages).toEqual([{ id: "2", event: "message", data: "b" }]);
    const split = feed(["id: 3\r", "\ndata: c\r", "\n\r", "\n"]);
    expect(split.messages).toEqual([{ id: "3", event: "message", data: "c" }]);
  });

  it("reads retry and ignores unknown fields", () => {
    const { state, messages } = feed(["retry: 2500\nfoo: bar\nretry: soon\ndata: z\n\n"]);
    expect(state.retry).toBe(2500);
    expect(messages).toEqual([{ id: null, event: "message", data: "z" }]);
  });

  it("drops a byte-order mark opening the stream", () => {
    const { messages } = feed(["\uFEFFdata: a\n\n"]);
    expect(messages[0].data).toBe("a");
  });

  it("a field with no colon has an empty value", () => {
    const { messages } = feed(["event\ndata\n\n"]);
    expect(messages).toEqual([{ id: null, event: "message", data: "" }]);
  });

  it("parses several messages in one chunk, keeping the incomplete tail", () => {
    const { messages, state } = feed(["id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\nda"]);
    expect(messages.map((m) => m.data)).toEqual(["a", "b"]);
    expect(state.buffer).toBe("da");
    expect(state.lastEventId).toBe("3");
  });
});

describe("noticeOf", () => {
  const msg = (data: string, event = "notice", id: string | null = "1"): SseMessage => ({ id, event, data });

  it("reads a notice", () => {
    const n = noticeOf(msg('{"id":1,"at":"2026-12-04T18:00:00Z","type":"leak","client":"ABC","which":"dishwasher","raised":true}'));
    expect(n).toMatchObject({ id: 1, type: "leak", client: "ABC", which: "dishwasher", raised: true });
  });

  it("client defaults to null, id to the SSE id", () => {
    expect(noticeOf(msg('{"at":"x","type":"box_online"}', "notice", "15"))).toMatchObject({ id: 15, client: null });
  });

  it("rejects bad JSON, no type, no id, other events", () => {
    expect(noticeOf(msg("{nope"))).toBeNull();
    expect(noticeOf(msg('{"id":1}'))).toBeNull();
    expect(noticeOf(msg('{"type":"acked"}', "notice", null))).toBeNull();
    expect(noticeOf(msg('{"id":1,"type":"acked"}', "other"))).toBeNull();
    expect(noticeOf(msg("3"))).toBeNull();
  });
});

describe("mergeNotices", () => {
  const n = (id: number): Notice => ({ id, at: "", type: "box_seen", client: null });

  it("dedupes by id and sorts newest first", () => {
    const list = mergeNotices([n(2), n(1)], [n(3), n(2), n(1)]);
    expect(list.map((x) => x.id)).toEqual([3, 2, 1]);
  });

  it("keeps the same list when nothing is new", () => {
    const list = [n(2), n(1)];
    expect(mergeNotices(list, [n(1)])).toBe(list);
    expect(mergeNotices(list, [])).toBe(list);
  });

  it("orders by time first, and keeps a restarted gateway's new notices with reused ids", () => {
    const at = (id: number, t: string): Notice => ({ id, at: t, type: "box_online", client: "ABC" });
    const old = [at(2, "2026-12-04T18:00:02Z"), at(1, "2026-12-04T18:00:01Z")];
    const list = mergeNotices(old, [at(1, "2026-12-04T19:00:00Z"), at(2, "2026-12-04T18:00:02Z")]);
    expect(list.map((x) => [x.id, x.at])).toEqual([
      [1, "2026-12-04T19:00:00Z"],
      [2, "2026-12-04T18:00:02Z"],
      [1, "2026-12-04T18:00:01Z"],
    ]);
  });

  it("caps the list, dropping the oldest", () => {
    const many = Array.from({ length: 250 }, (_, i) => n(i + 1));
    const list = mergeNotices([], many);
    expect(list).toHaveLength(200);
    expect(list[0].id).toBe(250);
    expect(list[199].id).toBe(51);
    expect(mergeNotices([n(1), n(2)], [n(3)], 2).map((x) => x.id)).toEqual([3, 2]);
  });
});
