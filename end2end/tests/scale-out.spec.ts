// The demo scaled out: three instances on a Redis Cluster behind nginx, round-robin. Requests land
// on every instance, and stopping one in the middle of a user's clicks goes unnoticed.
import {
  test, expect, register, counterValue, newUsername, expectCookiesBlocked, Deployment,
} from './fixtures';

/** How many sessions an instance has read so far, from its own /metrics. */
async function loadsServedBy(url: string): Promise<number> {
  const page = await (await fetch(url + '/metrics')).text();
  return page
    .split('\n')
    .filter((line) => line.startsWith('cookieless_loads_total{') && line.includes('outcome="hit"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

test('behind nginx every instance serves the session, and one stopping goes unnoticed', async ({ context }) => {
  const deployment = await new Deployment(3).start();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(deployment.url + '/');
    await expectCookiesBlocked(page);
    const username = newUsername('lb');
    await register(page, username);

    const increment = page.getByRole('button', { name: 'Increment' });
    for (let value = 1; value <= 6; value++) {
      await increment.click();
      await expect(counterValue(page)).toHaveText(String(value));
    }
    const served = await Promise.all(deployment.instances.map((instance) => loadsServedBy(instance.url)));
    expect(served.filter((loads) => loads > 0).length, `session loads per instance: ${served}`).toBe(3);

    // One instance goes away (a deploy, a scale-in) while the user keeps clicking.
    let stopped: Promise<void> | undefined;
    for (let value = 7; value <= 16; value++) {
      if (value === 9) stopped = deployment.instances[1].stop('SIGTERM');
      await increment.click();
      await expect(counterValue(page)).toHaveText(String(value));
      await expect(page.getByRole('alert')).toHaveCount(0);
    }
    await stopped;
    await page.reload();
    await expect(page.getByRole('heading', { name: `Hello, ${username}` })).toBeVisible();
    await expect(counterValue(page)).toHaveText('16');
  } finally {
    await deployment.stop();
    deployment.remove();
  }
});
