// Worker-thread entry for the detection benchmark: runs the jobs it is sent and posts their results back.
import { parentPort } from 'node:worker_threads';
import { type Job, runJob } from './jobs.ts';

parentPort?.on('message', (job: Job) => parentPort?.postMessage(runJob(job)));
parentPort?.postMessage('ready');
