/**
 * The one stylesheet of the local Cognito's pages, served from its own origin (the pages' CSP allows no inline
 * style). In the manner of Cognito's managed login: a centred card, full-width primary button, large inputs, light
 * and dark schemes.
 */
export const STYLESHEET_PATH = '/assets/local-cognito.css'

export const STYLESHEET = `:root {
  color-scheme: light dark;
  --bg: #f2f3f3;
  --card: #ffffff;
  --text: #16191f;
  --muted: #545b64;
  --border: #8c939b;
  --primary: #0b5fbf;
  --primary-text: #ffffff;
  --primary-hover: #084a96;
  --link: #0b5fbf;
  --error-bg: #fdecea;
  --error-text: #8a1c12;
  --error-border: #d13212;
  --info-bg: #e8f1fb;
  --info-text: #0b3f75;
  --info-border: #0b5fbf;
  --hint-bg: #fff8e1;
  --hint-border: #b27900;
  --code-bg: #eceff1;
  --focus: #ff9900;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1b2a;
    --card: #192534;
    --text: #e9ebed;
    --muted: #b6bec9;
    --border: #8d99a8;
    --primary: #75b5ff;
    --primary-text: #0f1b2a;
    --primary-hover: #a8d0ff;
    --link: #8ec3ff;
    --error-bg: #3b1512;
    --error-text: #ffb4a9;
    --error-border: #ff7a66;
    --info-bg: #11304f;
    --info-text: #cfe4ff;
    --info-border: #75b5ff;
    --hint-bg: #2d2410;
    --hint-border: #e0a526;
    --code-bg: #0f1b2a;
    --focus: #ffb84d;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  background: var(--bg);
  color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.lc-page {
  display: flex;
  flex-direction: column;
  align-items: center;
  justify-content: flex-start;
  min-height: 100vh;
  padding: 2rem 1rem;
}
.lc-card {
  width: 100%;
  max-width: 25rem;
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 0.75rem;
  padding: 1.75rem 1.5rem;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12);
}
.lc-wide { max-width: 48rem; }
.lc-brand {
  margin: 0 0 0.5rem;
  font-size: 1rem;
  font-weight: 600;
  color: var(--muted);
  text-align: center;
  overflow-wrap: anywhere;
}
h1 { margin: 0 0 1.25rem; font-size: 1.5rem; line-height: 1.3; text-align: center; }
h2 { margin: 1.5rem 0 0.5rem; font-size: 1.125rem; }
p { margin: 0 0 1rem; overflow-wrap: anywhere; }
a { color: var(--link); text-underline-offset: 0.15em; }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible, select:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}
form { margin: 0; }
label { display: block; margin: 1rem 0 0.375rem; font-weight: 600; }
.lc-check label, label.lc-inline { display: inline; margin: 0 0 0 0.5rem; font-weight: 400; }
.lc-check { display: flex; align-items: center; min-height: 44px; margin-top: 0.5rem; }
input[type="text"], input[type="email"], input[type="password"], input[type="number"] {
  display: block;
  width: 100%;
  min-height: 44px;
  padding: 0.625rem 0.75rem;
  font: inherit;
  font-size: 16px;
  color: var(--text);
  background: var(--card);
  border: 1px solid var(--border);
  border-radius: 0.5rem;
}
input[type="checkbox"], input[type="radio"] { width: 1.25rem; height: 1.25rem; margin: 0; accent-color: var(--primary); }
.lc-help { margin: 0.375rem 0 0; font-size: 0.875rem; color: var(--muted); }
.lc-policy { margin: 0.5rem 0 0; padding-left: 1.25rem; font-size: 0.875rem; color: var(--muted); }
button {
  font: inherit;
  min-height: 44px;
  border-radius: 0.5rem;
  cursor: pointer;
}
.lc-primary {
  display: block;
  width: 100%;
  margin-top: 1.5rem;
  padding: 0.625rem 1rem;
  font-weight: 700;
  color: var(--primary-text);
  background: var(--primary);
  border: 1px solid var(--primary);
}
.lc-primary:hover { background: var(--primary-hover); border-color: var(--primary-hover); }
.lc-secondary {
  display: block;
  width: 100%;
  margin-top: 0.75rem;
  padding: 0.625rem 1rem;
  font-weight: 600;
  color: var(--link);
  background: transparent;
  border: 1px solid var(--border);
}
.lc-links { margin: 1.25rem 0 0; padding: 0; list-style: none; text-align: center; }
.lc-links li { margin: 0.25rem 0; }
.lc-links a { display: inline-block; min-height: 44px; padding: 0.625rem 0.25rem; }
.lc-alert {
  margin: 0 0 1rem;
  padding: 0.75rem 1rem;
  border-radius: 0.5rem;
  border-left: 4px solid var(--error-border);
  background: var(--error-bg);
  color: var(--error-text);
}
.lc-info { border-left-color: var(--info-border); background: var(--info-bg); color: var(--info-text); }
.lc-hint {
  margin: 0 0 1.25rem;
  padding: 0.5rem 1rem;
  border: 1px dashed var(--hint-border);
  border-radius: 0.5rem;
  background: var(--hint-bg);
}
.lc-hint summary { min-height: 44px; padding: 0.625rem 0; font-weight: 600; cursor: pointer; }
.lc-hint ul { margin: 0 0 0.75rem; padding: 0; list-style: none; }
.lc-hint li { margin: 0.25rem 0; }
.lc-hint li a { display: inline-block; min-height: 44px; padding: 0.625rem 0; font-weight: 600; }
.lc-hint p { margin: 0 0 0.5rem; font-size: 0.875rem; }
code {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.9375rem;
  padding: 0.125rem 0.25rem;
  border-radius: 0.25rem;
  background: var(--code-bg);
  overflow-wrap: anywhere;
}
.lc-code { font-size: 1.25rem; letter-spacing: 0.1em; }
.lc-local { margin: 1.5rem 0 0; font-size: 0.875rem; color: var(--muted); text-align: center; }
.lc-table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 0.9375rem; }
th, td { padding: 0.5rem; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
fieldset { margin: 1rem 0 0; padding: 0.75rem 1rem 1rem; border: 1px solid var(--border); border-radius: 0.5rem; }
legend { padding: 0 0.25rem; font-weight: 700; }
@media (max-width: 420px) {
  .lc-page { padding: 1rem 0.5rem; }
  .lc-card { padding: 1.25rem 1rem; border-radius: 0.5rem; }
}
`
