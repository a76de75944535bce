/**
 * A job's live progress: polls GET /{login}/jobs/{id} (once a second) for status, phase and percent
 * (and ETA when the job reports `eta`), ending in the new image or the failure's code and message.
 * Cancel asks POST /{login}/jobs/{id}?action=cancel and shows whatever the API answers.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, formatDate, path, type Image, type Job } from '../api';
import { Confirm, ErrorMessage, Notice, PageTitle, ProgressBar, stateClass, useAction } from '../ui';

const POLL_MS = 1000;
const TERMINAL = ['SUCCESS', 'FAIL', 'CANCELLED'];

function etaText(eta: Job['eta']): string | undefined {
  if (eta === undefined || eta === null || eta === '') return undefined;
  if (typeof eta === 'number') return eta < 60 ? `${Math.ceil(eta)} s` : `${Math.floor(eta / 60)} min ${Math.ceil(eta % 60)} s`;
  const at = Date.parse(eta);
  return Number.isFinite(at) ? `${Math.max(0, Math.ceil((at - Date.now()) / 1000))} s (${new Date(at).toLocaleTimeString()})` : String(eta);
}

export function JobView({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [image, setImage] = useState<Image | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [cancelAnswer, setCancelAnswer] = useState<string | null>(null);
  const cancel = useAction();

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const j = (await call<Job>('GET', path('jobs', id))).body;
        if (!live) return;
        setJob(j);
        const img = j.entities?.image_id
          ? ((await call<Image>('GET', path('images', j.entities.image_id)).catch(() => null))?.body ?? null)
          : null;
        if (!live) return;
        setImage(img);
        const settled = TERMINAL.includes(j.status) && img?.state !== 'creating';
        if (!settled) timer = setTimeout(() => void tick(), POLL_MS);
      } catch (err) {
        if (live) setError(err);
      }
    };
    void tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);

  const doCancel = () => {
    setConfirmCancel(false);
    void cancel.run(async () => {
      const res = await call<unknown>('POST', `${path('jobs', id)}?action=cancel`, {});
      setCancelAnswer(`The API accepted the cancel (HTTP ${res.status}).`);
    });
  };

  if (error) return <ErrorMessage error={error} />;
  if (!job) return <p aria-live="polite">Loading job…</p>;
  const done = TERMINAL.includes(job.status);
  const eta = etaText(job.eta);
  return (
    <section>
      <PageTitle>Building {job.entities.image_name ?? image?.name ?? 'image'}</PageTitle>
      <div class="job">
        <ProgressBar value={job.progress} label="Build progress" />
        <p class="job-line" aria-live="polite">
          <span class={stateClass(job.status)} data-testid="job-status">
            {job.status}
          </span>{' '}
          <span data-testid="job-percent">{Math.round(job.progress)}%</span>
          {job.phase && <> · phase {job.phase}</>}
          {eta && !done && <> · about {eta} left</>}
        </p>
        <dl class="fields compact">
          <div>
            <dt>job</dt>
            <dd>
              <code>{job.id}</code>
            </dd>
          </div>
          <div>
            <dt>started</dt>
            <dd>{formatDate(job.begin_time ?? job.created_at)}</dd>
          </div>
          {job.end_time && (
            <div>
              <dt>ended</dt>
              <dd>{formatDate(job.end_time)}</dd>
            </div>
          )}
        </dl>
        {!done && (
          <button type="button" class="danger" onClick={() => setConfirmCancel(true)} disabled={cancel.busy}>
            Cancel build
          </button>
        )}
        {cancelAnswer && <Notice>{cancelAnswer}</Notice>}
        <ErrorMessage error={cancel.error} />
        {job.status === 'FAIL' && (
          <div class="message error" role="alert">
            <strong>{job.error_code ?? 'Failed'}</strong>: {job.fail_reason ?? 'the build failed'}
          </div>
        )}
        {job.status === 'CANCELLED' && <Notice>The build was cancelled.</Notice>}
        {image && (
          <p>
            Image{' '}
            <a href={`#/images/${image.id}`} data-testid="job-image">
              {image.name} {image.version}
            </a>{' '}
            <span class={stateClass(image.state)} data-testid="job-image-state">
              {image.state}
            </span>
          </p>
        )}
      </div>
      <Confirm
        open={confirmCancel}
        title="Cancel build"
        confirmLabel="Cancel build"
        cancelLabel="Keep building"
        danger
        onConfirm={doCancel}
        onCancel={() => setConfirmCancel(false)}
      >
        <p>Stop building this image? What was written so far is removed.</p>
      </Confirm>
    </section>
  );
}
