import http from 'node:http';
import https from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';

/** Where an S3BlobStore keeps its bytes, and how it talks to the object store. */
export interface S3StoreConfig {
  bucket: string;
  /** An S3-compatible server (Ceph RGW, MinIO, Garage, R2); unset = AWS S3. */
  endpoint?: string;
  /** Default `us-east-1`, which S3-compatible servers accept whatever their own zones are. */
  region?: string;
  /** Put before every key, e.g. `spore/`, to share a bucket. Default none. */
  prefix?: string;
  /** `bucket` in the path instead of the host name: what most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /**
   * When the SDK adds checksums to requests and checks them on responses. The default,
   * WHEN_REQUIRED, works everywhere: WHEN_SUPPORTED sends bodies `aws-chunked` with a trailing
   * CRC32, which older S3 servers (Ceph 16) refuse with 411 MissingContentLength. The store
   * hashes every byte with SHA-256 itself in either mode.
   */
  checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  /** Unset: the SDK's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  tuning?: Partial<S3Tuning>;
}

export interface S3Tuning {
  /** Bytes per multipart upload part, and the largest body sent as one PutObject. S3: ≥ 5 MiB. */
  partSize: number;
  /** Parts of one upload sent at once. An upload holds at most `partsInFlight + 1` part buffers. */
  partsInFlight: number;
  /** Bytes per ranged GET of a stream; a slow reader holds one such response open. */
  segmentSize: number;
  /** Larger objects are committed with UploadPartCopy: a CopyObject takes at most 5 GiB. */
  multipartCopyAbove: number;
  /** Bytes per UploadPartCopy part. */
  copyPartSize: number;
  /** Connections to the store at once. Every open download stream holds one. */
  maxSockets: number;
}

const MiB = 1 << 20;

export const DEFAULT_TUNING: S3Tuning = {
  partSize: 8 * MiB,
  partsInFlight: 4,
  segmentSize: 16 * MiB,
  multipartCopyAbove: 5 * 1024 * MiB,
  copyPartSize: 512 * MiB,
  maxSockets: 256,
};

/** Keep-alive connections to the store, shared by the SDK and the presigned GETs. */
export interface S3Agents {
  http: http.Agent;
  https: https.Agent;
}

export function createS3Agents(tuning: S3Tuning): S3Agents {
  const options = { keepAlive: true, maxSockets: tuning.maxSockets };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

export function createS3Client(config: S3StoreConfig, agents: S3Agents): S3Client {
  const checksums = config.checksums ?? 'WHEN_REQUIRED';
  return new S3Client({
    region: config.region ?? 'us-east-1',
    forcePathStyle: config.forcePathStyle ?? false,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: { httpAgent: agents.http, httpsAgent: agents.https },
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  });
}
