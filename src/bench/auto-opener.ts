// An open function for serve's instances that opens every model in mode
// 'auto' (fast-open first, fast-run behind the same session after the first
// run): the coldphases benchmark's instance scenarios measure whether a
// served instance should open that way (issue 15). Loaded by instance
// processes through an OpenerSpec naming this module.
import { openSession } from '../client/open-session.js';
import type { OpenModel } from '../serve/instances/opener.js';

export { warmUp } from '../client/open-session.js';

export const openAuto: OpenModel = (ref, o) => openSession(ref, { ...o, mode: 'auto' });
