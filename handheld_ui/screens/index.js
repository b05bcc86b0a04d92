// The screens of the handheld app. Adding a screen = ONE import line + ONE entry below
// (keep one screen per line so parallel changes merge cleanly). See docs/handheld.md "Screen contract".
import lookup from './lookup.js';
import item from './item.js';
import queue from './queue.js';
import profile from './profile.js';
import pick from './pick.js';
import pick_walk from './pick_walk.js';
import pack from './pack.js';
import orders from './orders.js';
import orders_alerts from './orders_alerts.js';
import stocktake from './stocktake.js';
import stocktake_count from './stocktake_count.js';
import stocktake_sweep from './stocktake_sweep.js';
import stocktake_review from './stocktake_review.js';
import devices from './devices.js';

export default [
  lookup,
  item,
  queue,
  profile,
  pick,
  pick_walk,
  pack,
  orders,
  orders_alerts,
  stocktake,
  stocktake_count,
  stocktake_sweep,
  stocktake_review,
  devices,
];
