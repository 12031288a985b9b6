/**
 * What the real registry 3.0.0 answers when ECR refuses a pull (the role lost `ecr:BatchGetImage`: ECR answers 403
 * DENIED per request, modelled by the stack's ECR front with the local AWS's denials): 404 MANIFEST_UNKNOWN, counted as
 * registry_http_requests_total{handler="manifest",code="404"}, not as a 5xx. EcrProxyUpstreamErrors (5xx) cannot see
 * it; EcrProxyManifestsNotFound (chart-values/monitoring/prometheusrule.yaml) is built on this fact.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireBuilt } from '../support/exe.js';
import { startStack, type Stack } from '../support/stack.js';
import { requireTools } from '../support/tools.js';

let stack: Stack;
beforeAll(async () => {
  requireTools('registry300', 'crane', 'motoServer');
  requireBuilt();
  stack = await startStack();
  await stack.seedImage('team/app:v1');
});
afterAll(async () => stack?.stop());

it('ECR refusing BatchGetImage reaches the node as 404 manifest unknown, in the registry\'s 404 manifest count', async () => {
  stack.fake.denials.add({ action: 'ecr:BatchGetImage' });
  try {
    const refusedBefore = stack.front.counts().unauthorized;
    const answer = await fetch(`${stack.proxy.url}/v2/team/app/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(stack.front.counts().unauthorized).toBeGreaterThan(refusedBefore); // ECR did refuse
    expect(answer.status).toBe(404);
    expect(await answer.text()).toContain('MANIFEST_UNKNOWN');
    const metrics = await (await fetch(`${stack.proxy.debugUrl}/metrics`)).text();
    expect(metrics).toMatch(/^registry_http_requests_total\{code="404",handler="manifest",method="get"\} [1-9]/m);
    expect(metrics).not.toMatch(/^registry_http_requests_total\{code="5\d\d",handler="manifest"/m);
  } finally {
    stack.fake.denials.clear();
  }
});
