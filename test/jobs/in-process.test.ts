import { queueContract } from './contract.js';

// The embedded default: no REDIS_URL, the API process runs the jobs itself.
queueContract('in-process', () => ({ REDIS_URL: undefined }));
