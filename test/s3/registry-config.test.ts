/**
 * `--config` on a registry whose storage is a bucket: the s3 driver's parameters (and the
 * REGISTRY_STORAGE_S3_* overrides) mapped to a root and connection settings; the command line on top.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storageFromConfig } from '../../src/app/registry-config.js';
import { overlayS3Settings } from '../../src/storage/s3/settings.js';

const doc = {
  version: 0.1,
  storage: {
    s3: {
      accesskey: 'AKID',
      secretkey: 'SECRET',
      region: 'eu-west-1',
      regionendpoint: 'http://rgw.internal:8080',
      bucket: 'acme-registry',
      rootdirectory: '/prod/reg/',
      forcepathstyle: true,
      secure: false,
      v4auth: true,
    },
    delete: { enabled: true },
    cache: { blobdescriptor: 'inmemory' },
  },
};

test('storage.s3: bucket and rootdirectory make the root; region, endpoint, addressing and keys the connection', () => {
  assert.deepEqual(storageFromConfig(doc, {}, 'c.yml'), {
    driver: 's3',
    root: 's3://acme-registry/prod/reg',
    s3: {
      region: 'eu-west-1',
      endpoint: 'http://rgw.internal:8080',
      pathStyle: true,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
    },
  });
  // The least a registry needs: no rootdirectory (the bucket's top), no keys (the default chain).
  assert.deepEqual(storageFromConfig({ storage: { s3: { bucket: 'b-1', region: 'us-east-1' } } }, {}, 'c.yml'), {
    driver: 's3',
    root: 's3://b-1/',
    s3: { region: 'us-east-1' },
  });
});

test('REGISTRY_STORAGE_S3_* overrides, parsed as YAML scalars, keys matched whatever their case', () => {
  const t = storageFromConfig(
    doc,
    {
      REGISTRY_STORAGE_S3_BUCKET: 'other-bucket',
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: '',
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: 'false',
      REGISTRY_STORAGE_S3_SECRETKEY: 'FROM-ENV',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: 'minio.internal:9000',
    },
    'c.yml',
  );
  assert.equal(t.root, 's3://other-bucket/');
  assert.equal(t.s3?.pathStyle, false);
  assert.equal(t.s3?.credentials?.secretAccessKey, 'FROM-ENV');
  // No scheme: http:// because the file says secure: false (https:// otherwise).
  assert.equal(t.s3?.endpoint, 'http://minio.internal:9000');
  const secure = storageFromConfig(
    { storage: { s3: { bucket: 'b-1', regionendpoint: 'minio.internal:9000' } } },
    {
      REGISTRY_STORAGE_S3_SESSIONTOKEN: 'TOKEN',
      REGISTRY_STORAGE_S3_ACCESSKEY: 'A',
      REGISTRY_STORAGE_S3_SECRETKEY: 'S',
    },
    'c.yml',
  );
  assert.equal(secure.s3?.endpoint, 'https://minio.internal:9000');
  assert.deepEqual(secure.s3?.credentials, { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'TOKEN' });
  // REGISTRY_STORAGE=s3 replaces the file's driver; its parameters then come from the environment only.
  const switched = storageFromConfig(
    { storage: { filesystem: { rootdirectory: '/srv' } } },
    { REGISTRY_STORAGE: 's3', REGISTRY_STORAGE_S3_BUCKET: 'env-bucket', REGISTRY_STORAGE_S3_REGION: 'us-west-2' },
    'c.yml',
  );
  assert.deepEqual(switched, { driver: 's3', root: 's3://env-bucket/', s3: { region: 'us-west-2' } });
});

test('a storage.s3 regaudit cannot use is one line that never shows a key', () => {
  const bad = (s3: Record<string, unknown>, re: RegExp) => {
    assert.throws(
      () => storageFromConfig({ storage: { s3 } }, {}, 'c.yml'),
      (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes('SECRET') && !e.message.includes('AKID'), e.message);
        return e.name === 'UsageError';
      },
    );
  };
  bad({ region: 'us-east-1', accesskey: 'AKID', secretkey: 'SECRET' }, /^c\.yml: storage\.s3 has no bucket$/);
  bad({ bucket: 'b-1', accesskey: 'AKID' }, /^c\.yml: storage\.s3 gives only one of accesskey and secretkey$/);
  bad({ bucket: 'b-1', secretkey: 'SECRET', forcepathstyle: 'maybe' }, /storage\.s3\.forcepathstyle: not a boolean/);
});

test('the command line wins over the config: --endpoint, --path-style; unset options leave the config alone', () => {
  const fromConfig = { region: 'eu-west-1', endpoint: 'http://a:1', pathStyle: false };
  assert.deepEqual(overlayS3Settings(fromConfig, { endpoint: 'http://b:2', pathStyle: true, requests: 8 }), {
    region: 'eu-west-1',
    endpoint: 'http://b:2',
    pathStyle: true,
    requests: 8,
  });
  assert.deepEqual(overlayS3Settings(fromConfig, { requests: 32 }), { ...fromConfig, requests: 32 });
});
