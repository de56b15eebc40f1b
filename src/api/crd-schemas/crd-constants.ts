/** Values every generated CRD shares. */
import { GROUP, VERSION } from '../group-version.js';
import type { PrinterColumn } from './crd-types.js';

export const API_VERSION_PARTS = Object.freeze({ group: GROUP, version: VERSION });

export const AGE_COLUMN: PrinterColumn = Object.freeze({
  name: 'AGE',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
}) as PrinterColumn;
