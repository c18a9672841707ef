"""The page's stylesheet, inlined so the page needs nothing from the network."""

from __future__ import annotations

__all__ = ("STYLESHEET",)

STYLESHEET = """
:root {
  --ink: #1d2430; --muted: #5b6575; --line: #dde2ea; --soft: #f5f7fa; --card: #ffffff;
  --accent: #3451b2; --receive: #0f7b5f; --receive-bg: #e3f4ee; --send: #a34a00;
  --send-bg: #fcebdc; --code-bg: #f0f2f6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --ink: #e4e8ef; --muted: #9aa4b5; --line: #323a48; --soft: #171b22; --card: #1f2430;
    --accent: #8ea6ff; --receive: #5fd4b0; --receive-bg: #15352c; --send: #ffb077;
    --send-bg: #3d2614; --code-bg: #2a3040;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; color: var(--ink); background: var(--soft);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace;
  font-size: 0.9em; }
code { background: var(--code-bg); padding: 0.05em 0.3em; border-radius: 4px; }
pre { background: var(--code-bg); padding: 0.75em 1em; border-radius: 6px; overflow-x: auto;
  margin: 0.4em 0 0.8em; }
pre code { background: none; padding: 0; }
header.top { background: var(--card); border-bottom: 1px solid var(--line);
  padding: 1.2em 2em 1em; }
header.top h1 { margin: 0; font-size: 1.7em; }
.version { font-size: 0.55em; font-weight: 600; color: var(--muted); border: 1px solid var(--line);
  border-radius: 999px; padding: 0.1em 0.6em; vertical-align: middle; }
.sub { margin: 0.3em 0 0; color: var(--muted); }
.layout { display: grid; grid-template-columns: 15em minmax(0, 1fr); gap: 0; }
nav.toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto;
  padding: 1.2em 1em 2em 2em; font-size: 0.92em; }
nav.toc h2 { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.06em;
  color: var(--muted); margin: 1.2em 0 0.4em; }
nav.toc ul { list-style: none; margin: 0; padding: 0; }
nav.toc li { margin: 0.15em 0; overflow-wrap: anywhere; }
main { padding: 1.2em 2em 3em 1em; min-width: 0; }
section { margin-bottom: 2em; }
section > h2 { font-size: 1.3em; margin: 0 0 0.6em; padding-bottom: 0.3em;
  border-bottom: 1px solid var(--line); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1em 1.2em; margin-bottom: 1em; }
.card h3 { margin: 0 0 0.4em; font-size: 1.15em; overflow-wrap: anywhere; }
.card h4 { margin: 1em 0 0.4em; font-size: 1em; }
.message { border-top: 1px dashed var(--line); margin-top: 0.8em; padding-top: 0.2em; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 0.8em; font-size: 0.93em; }
th, td { text-align: left; vertical-align: top; padding: 0.4em 0.6em;
  border-bottom: 1px solid var(--line); }
th { font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
table.overview, table.servers { background: var(--card); border: 1px solid var(--line); }
.scroll { overflow-x: auto; }
table.fields { table-layout: fixed; }
table.fields td { overflow-wrap: anywhere; }
col.c-field { width: 20%; } col.c-type { width: 22%; } col.c-required { width: 9%; }
col.c-description { width: 30%; } col.c-example { width: 19%; }
td > p:first-child { margin-top: 0; } td > p:last-child { margin-bottom: 0; }
.badge { display: inline-block; font-size: 0.75em; font-weight: 700; text-transform: uppercase;
  letter-spacing: 0.05em; border-radius: 4px; padding: 0.1em 0.5em; }
.badge.receive { color: var(--receive); background: var(--receive-bg); }
.badge.send { color: var(--send); background: var(--send-bg); }
.badge.pattern { color: var(--accent); background: var(--code-bg); }
.ctype { color: var(--muted); font-weight: normal; font-size: 0.85em; margin-left: 0.4em; }
.notes { color: var(--muted); font-size: 0.9em; }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; margin: 0.4em 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ul.ops { list-style: none; padding: 0; margin: 0.4em 0; }
ul.ops li { margin: 0.25em 0; }
details summary { cursor: pointer; color: var(--accent); }
@media (max-width: 800px) {
  .layout { grid-template-columns: 1fr; }
  nav.toc { position: static; max-height: none; padding: 1em 1.2em 0; }
  main { padding: 1em 1.2em 2em; }
}
@media print { nav.toc { display: none; } .layout { grid-template-columns: 1fr; } }
"""
