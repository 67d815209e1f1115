import ava from 'ava';
import { cephTest } from '../helpers/ceph.js';
import { postgresTest } from '../helpers/postgres.js';

/**
 * ava's `test` for a cluster (PostgreSQL + Ceph RGW): both engines are needed, so the test is
 * reported skipped where either cannot run.
 */
export const clusterTest = postgresTest === ava ? cephTest : postgresTest;
