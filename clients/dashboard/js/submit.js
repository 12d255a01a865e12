// submit.js - the submit form: a solver, its problem (the catalog's example, a generated
// instance, or JSON pasted or uploaded), its parameters (fields generated from the schema) and
// the job options. The server validates; its error's path decides where the message appears.
import { api, ApiError } from './api.js';
import { el, clear, put, prettyJson } from './util.js';
import { makeField, parseKeyList, guessSchema } from './schemaform.js';

export function render(main, route) {
  const ctl = new AbortController();
  let destroyed = false;
  let solver = null;      // GET /v1/solvers/{name}
  let paramFields = [];
  let genFields = [];
  let mode = 'example';

  const wanted = route.parts[1] || route.query.get('solver') || '';

  // ------------------------------------------------------------ skeleton
  const solverSel = el('select', { id: 'solver', name: 'solver', required: true }, el('option', { value: '' }, 'Loading solvers…'));
  const solverInfo = el('div', { class: 'solver-info' });
  const solverErr = el('p', { class: 'field-error', hidden: true, dataset: { errorFor: '/solver' } });
  const solverField = el('div', { class: 'field', dataset: { path: '/solver' } },
    el('label', { for: 'solver' }, 'Solver'), solverSel, solverInfo, solverErr);

  const problemBody = el('div', { class: 'problem-body' });
  const problemErr = el('p', { class: 'field-error', id: 'problem-err', hidden: true, dataset: { errorFor: '/problem' } });
  const problemSet = el('fieldset', { class: 'card form-card', id: 'problem', dataset: { path: '/problem' } },
    el('legend', {}, 'Problem'), problemBody, problemErr);

  const paramsGrid = el('div', { class: 'field-grid', id: 'params' });
  const paramsErr = el('p', { class: 'field-error', hidden: true, dataset: { errorFor: '/params' } });
  const paramsSet = el('fieldset', { class: 'card form-card', dataset: { path: '/params' } },
    el('legend', {}, 'Parameters'),
    el('p', { class: 'muted small' }, 'An empty field uses the server\'s default (shown greyed). ',
      el('button', { type: 'button', class: 'btn btn-small', onclick: () => fillParams(solver && solver.example && solver.example.params) }, 'Example values'), ' ',
      el('button', { type: 'button', class: 'btn btn-small', onclick: () => fillParams({}) }, 'All defaults')),
    paramsGrid, paramsErr);

  const tagsField = makeField('tags', { type: 'string', description: 'comma-separated labels to filter the jobs list by' }, '/tags');
  const priorityField = makeField('priority', { type: 'integer', default: 0, description: 'higher runs first' }, '/priority');
  const limitField = makeField('time_limit_s', { type: 'number', exclusiveMinimum: 0, description: 'wall-clock limit of the job in seconds (empty: the server\'s limit)' }, '/time_limit_s');
  const optionsSet = el('fieldset', { class: 'card form-card' }, el('legend', {}, 'Job options'),
    el('div', { class: 'field-grid' }, tagsField.element, priorityField.element, limitField.element));

  const formError = el('div', { class: 'form-error', id: 'form-error', role: 'alert', hidden: true });
  const submitBtn = el('button', { type: 'submit', class: 'btn btn-primary', id: 'submit-job' }, 'Submit job');
  const form = el('form', { id: 'submit-form', novalidate: true, onsubmit: onSubmit },
    formError,
    el('div', { class: 'card form-card' }, solverField),
    problemSet, paramsSet, optionsSet,
    el('div', { class: 'form-actions' }, submitBtn));

  main.append(el('div', { class: 'page-head' }, el('h1', {}, 'Submit a job')), form);

  // ------------------------------------------------------------ solver choice
  api.solvers({ signal: ctl.signal }).then((r) => {
    clear(solverSel).append(el('option', { value: '' }, 'Choose a solver…'));
    const families = new Map();
    for (const s of r.solvers) {
      if (!families.has(s.family)) families.set(s.family, []);
      families.get(s.family).push(s);
    }
    for (const [fam, list] of families)
      solverSel.append(el('optgroup', { label: fam }, list.map((s) => el('option', { value: s.name }, s.name))));
    const first = wanted && r.solvers.some((s) => s.name === wanted) ? wanted : '';
    solverSel.value = first;
    if (first) loadSolver(first);
    else solverInfo.replaceChildren(el('p', { class: 'muted' }, 'Pick a solver to see its problem and parameters.'));
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    showFormError(`Could not load the solver catalog: ${e.message}`);
  });

  solverSel.addEventListener('change', () => {
    history.replaceState(null, '', `#/submit/${encodeURIComponent(solverSel.value)}`);
    loadSolver(solverSel.value);
  });

  async function loadSolver(name) {
    clearErrors();
    clear(problemBody);
    clear(paramsGrid);
    paramFields = [];
    solver = null;
    if (!name) return;
    solverInfo.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    try {
      solver = await api.solver(name, { signal: ctl.signal });
    } catch (e) {
      if (e.name === 'AbortError') return;
      solverInfo.replaceChildren(el('p', { class: 'error-text' }, `Could not load ${name}: ${e.message}`));
      return;
    }
    if (destroyed || solverSel.value !== name) return;
    solverInfo.replaceChildren(el('p', {}, solver.summary, ' ',
      el('a', { href: `#/solvers/${encodeURIComponent(name)}` }, 'About this solver')));
    buildProblem();
    buildParams();
  }

  // ------------------------------------------------------------ problem
  const problemSchema = () => (solver && solver.problem) || {};
  // The members a problem may have: the schema's own properties and those of each of its
  // forms (a problem schema is a "oneOf" of forms, api/forms.h).
  const problemProps = () => {
    const s = problemSchema();
    const props = Object.assign({}, s.properties || {});
    for (const f of s.oneOf || []) Object.assign(props, f.properties || {});
    return props;
  };
  const exampleProblem = () => (solver && solver.example && solver.example.problem) || null;

  let jsonArea, uploadNote;
  function buildProblem() {
    const props = problemProps();
    const ex = exampleProblem();
    const modes = [];
    if (ex) modes.push(['example', 'The example problem']);
    if (props.generate) modes.push(['generate', 'A generated instance']);
    modes.push(['json', 'My own JSON (paste or upload)']);
    if (!modes.some(([m]) => m === mode)) mode = modes[0][0];

    const radios = el('div', { class: 'radio-row', role: 'radiogroup', 'aria-label': 'Problem source' }, modes.map(([m, label]) => {
      const input = el('input', { type: 'radio', name: 'problem-mode', id: `pm-${m}`, value: m, checked: m === mode });
      input.addEventListener('change', () => { if (input.checked) { mode = m; showPanel(); setProblemError(''); } });
      return el('label', { class: 'radio', for: `pm-${m}` }, input, ' ', label);
    }));

    const panels = {};
    if (ex) {
      panels.example = el('div', { class: 'panel', id: 'panel-example' },
        el('p', { class: 'muted small' }, 'The catalog\'s example: small enough to finish in about a second.'),
        el('pre', { class: 'code-block' }, prettyJson(ex)));
    }
    if (props.generate) panels.generate = buildGenerate(props.generate, ex && ex.generate);

    jsonArea = el('textarea', { id: 'problem-json', name: 'problem', rows: 12, class: 'mono', spellcheck: 'false', 'aria-describedby': 'problem-json-help problem-err' },
      ex ? prettyJson(ex) : '{}');
    jsonArea.addEventListener('input', () => setProblemError(''));
    const file = el('input', { type: 'file', id: 'problem-file', accept: '.json,application/json' });
    uploadNote = el('span', { class: 'muted small', role: 'status' });
    file.addEventListener('change', () => upload(file));
    panels.json = el('div', { class: 'panel', id: 'panel-json' },
      el('label', { for: 'problem-json' }, 'Problem JSON'),
      jsonArea,
      el('p', { class: 'hint', id: 'problem-json-help' }, problemSchema().description || 'The problem object of the job.'),
      el('div', { class: 'upload-row' }, el('label', { for: 'problem-file' }, 'Or upload a .json file:'), file, uploadNote));

    problemBody.append(radios, ...Object.values(panels));
    function showPanel() { for (const [m, p] of Object.entries(panels)) p.hidden = m !== mode; }
    showPanel();
  }

  function buildGenerate(genSchema, exGen) {
    genFields = [];
    const box = el('div', { class: 'panel', id: 'panel-generate', dataset: { path: '/problem/generate' } });
    if (genSchema.description) box.append(el('p', { class: 'hint' }, genSchema.description));
    let keys;
    if (genSchema.properties) {
      keys = Object.entries(genSchema.properties).map(([k, s]) => [k, s]);
    } else {
      // The catalog describes the generator in prose: its keys, typed by the example's values.
      const listed = parseKeyList(genSchema.description);
      const names = new Set(listed.map((k) => k.name));
      keys = listed.map((k) => [k.name, guessSchema(k, exGen ? exGen[k.name] : undefined)]);
      for (const [k, v] of Object.entries(exGen || {})) if (!names.has(k)) keys.push([k, guessSchema({ name: k, def: null }, v)]);
    }
    if (!keys.length) {
      const area = el('textarea', { id: 'generate-json', rows: 5, class: 'mono', spellcheck: 'false' }, prettyJson(exGen || {}));
      box.append(el('label', { for: 'generate-json' }, 'generate'), area);
      genFields.push({ path: '/problem/generate', element: box, get: () => { try { return { set: true, value: JSON.parse(area.value), whole: true }; } catch (e) { return { error: e.message }; } }, setError: setProblemError });
      return box;
    }
    const grid = el('div', { class: 'field-grid' });
    for (const [k, s] of keys) {
      const f = makeField(k, s, `/problem/generate/${k}`);
      if (exGen && k in exGen) f.set(exGen[k]);
      genFields.push(f);
      grid.append(f.element);
    }
    box.append(grid);
    return box;
  }

  async function upload(file) {
    const f = file.files && file.files[0];
    if (!f) return;
    let text;
    try { text = await f.text(); } catch (e) { uploadNote.textContent = `Could not read ${f.name}: ${e.message}`; return; }
    let v;
    try { v = JSON.parse(text); } catch (e) { setProblemError(`${f.name} is not valid JSON: ${e.message}`); return; }
    const props = problemProps();
    // A whole job body ({problem, params}) fills the parameters too.
    if (v && typeof v === 'object' && 'problem' in v && !('problem' in props)) {
      jsonArea.value = prettyJson(v.problem);
      if (v.params) fillParams(v.params);
      uploadNote.textContent = `Loaded the problem${v.params ? ' and parameters' : ''} of ${f.name}.`;
    } else {
      jsonArea.value = prettyJson(v);
      uploadNote.textContent = `Loaded ${f.name}.`;
    }
    setProblemError('');
    file.value = '';
  }

  function problemValue() {
    if (mode === 'example') return { value: exampleProblem() };
    if (mode === 'json') {
      try { return { value: JSON.parse(jsonArea.value) }; } catch (e) { return { error: `the problem is not valid JSON: ${e.message}`, field: null }; }
    }
    const gen = {};
    for (const f of genFields) {
      const r = f.get();
      if (r.error) return { error: r.error, field: f };
      if (r.whole) return { value: { generate: r.value } };
      if (r.set) gen[f.path.split('/').pop()] = r.value;
    }
    return { value: { generate: gen } };
  }

  // ------------------------------------------------------------ parameters
  function buildParams() {
    const props = (solver.params && solver.params.properties) || {};
    for (const [k, s] of Object.entries(props)) {
      const f = makeField(k, s, `/params/${k}`);
      paramFields.push(f);
      paramsGrid.append(f.element);
    }
    if (!paramFields.length) paramsGrid.append(el('p', { class: 'muted' }, 'This solver takes no parameters.'));
    fillParams(solver.example && solver.example.params);
  }

  function fillParams(values) {
    values = values || {};
    for (const f of paramFields) f.set(values[f.name]);
  }

  // ------------------------------------------------------------ errors
  function setProblemError(msg) {
    // Right under the editor when there is one in view, else at the foot of the fieldset.
    if (msg) {
      if (mode === 'json' && jsonArea) jsonArea.after(problemErr);
      else problemSet.append(problemErr);
    }
    problemErr.textContent = msg || '';
    problemErr.hidden = !msg;
    problemSet.classList.toggle('has-error', !!msg);
    if (jsonArea) { if (msg) jsonArea.setAttribute('aria-invalid', 'true'); else jsonArea.removeAttribute('aria-invalid'); }
  }

  function showFormError(content) {
    put(formError, content);
    formError.hidden = false;
  }

  function clearErrors() {
    formError.hidden = true;
    setProblemError('');
    solverErr.hidden = true;
    paramsErr.hidden = true;
    for (const f of [...paramFields, ...genFields, tagsField, priorityField, limitField]) f.setError('');
  }

  /** Shows msg at the field the JSON path names, or at its nearest enclosing one. */
  function showAt(path, msg) {
    const fields = [...paramFields, ...(mode === 'generate' ? genFields : []), tagsField, priorityField, limitField];
    for (let p = path; p; p = p.slice(0, p.lastIndexOf('/'))) {
      const f = fields.find((x) => x.path === p);
      if (f) { f.setError(msg); f.focus && f.focus(); return f.element; }
      if (p === '/problem') {
        setProblemError(path === '/problem' ? msg : `${path.slice('/problem'.length)}: ${msg}`);
        if (mode === 'json') jsonArea.focus();
        else problemSet.querySelector('input:checked')?.focus();
        return problemSet;
      }
      if (p === '/params') { paramsErr.textContent = msg; paramsErr.hidden = false; return paramsSet; }
      if (p === '/solver') { solverErr.textContent = msg; solverErr.hidden = false; solverSel.focus(); return solverField; }
    }
    return null;
  }

  // ------------------------------------------------------------ submit
  async function onSubmit(e) {
    e.preventDefault();
    clearErrors();
    if (!solver) { showAt('/solver', 'Choose a solver.'); return; }
    const body = { solver: solver.name };
    const problem = problemValue();
    if (problem.error) {
      if (problem.field) { problem.field.setError(problem.error); problem.field.focus(); } else showAt('/problem', problem.error);
      return;
    }
    body.problem = problem.value;
    const params = {};
    let bad = null;
    for (const f of paramFields) {
      const r = f.get();
      if (r.error) { f.setError(r.error); bad = bad || f; } else if (r.set) params[f.name] = r.value;
    }
    body.params = params;
    const tags = tagsField.get();
    if (tags.set) {
      const list = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
      if (list.length) body.tags = list;
    }
    for (const f of [priorityField, limitField]) {
      const r = f.get();
      if (r.error) { f.setError(r.error); bad = bad || f; } else if (r.set) body[f.name] = r.value;
    }
    if (bad) {
      showFormError('Some fields need fixing before the job can be sent.');
      bad.focus();
      return;
    }
    submitBtn.disabled = true;
    submitBtn.textContent = 'Submitting…';
    try {
      const job = await api.submit(body, { signal: ctl.signal });
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (err) {
      if (err.name === 'AbortError') return;
      submitBtn.disabled = false;
      submitBtn.textContent = 'Submit job';
      if (err instanceof ApiError && err.path) {
        const where = showAt(err.path, err.message);
        showFormError([
          el('strong', {}, 'The server rejected the job: '), err.message, ' ',
          el('span', { class: 'muted' }, '(at '), el('code', {}, err.path), el('span', { class: 'muted' }, ')'),
          where ? [' ', el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); where.scrollIntoView({ block: 'center' }); (where.querySelector('input,select,textarea') || where).focus(); } }, 'Show the field')] : null,
        ]);
        if (where) where.scrollIntoView({ block: 'center' });
      } else {
        showFormError([el('strong', {}, 'The job was not submitted: '), err.message]);
        formError.scrollIntoView({ block: 'center' });
      }
    }
  }

  return () => { destroyed = true; ctl.abort(); };
}
