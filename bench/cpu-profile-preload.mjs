/**
 * Preloaded into a server (`NODE_OPTIONS=--import <this file>`, with BENCH_CPU_PROFILE=<file>)
 * to write a V8 CPU profile (.cpuprofile, for Chrome DevTools or speedscope) when it exits: Node 20
 * refuses --cpu-prof in NODE_OPTIONS, and the bench helpers start servers with fixed node flags.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.BENCH_CPU_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // The in-thread inspector answers synchronously, so the profile is written before exit.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
