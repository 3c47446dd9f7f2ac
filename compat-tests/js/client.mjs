// KafkaJS 2.2.4 against a real Strata broker, driven by compat-tests/test_kafkajs.py.
//
//   node client.mjs produce  BROKER TOPIC COUNT PARTITIONS [plain|idempotent]  # then 'end' on each partition
//   node client.mjs txn      BROKER TOPIC TXN_ID                # commit one, abort one, commit one
//   node client.mjs consume  BROKER TOPIC GROUP END_VALUE [committed|uncommitted]
//
// Every command prints one JSON object on stdout (KafkaJS's own log goes to stderr) and
// exits 0; a failure prints {"error": ...} and exits 1. The caller bounds the run with a
// timeout; the consumer also stops by itself after CONSUME_TIMEOUT_MS.
import { Kafka, logLevel, Partitioners } from 'kafkajs'

const CONSUME_TIMEOUT_MS = 40000

const logCreator = () => ({ namespace, level, log }) => {
  if (level > logLevel.WARN) return
  const { message, ...extra } = log
  process.stderr.write(`[kafkajs ${namespace}] ${message} ${JSON.stringify(extra)}\n`)
}

function client(broker) {
  return new Kafka({
    clientId: 'strata-compat-kafkajs',
    brokers: [broker],
    logLevel: logLevel.WARN,
    logCreator,
    connectionTimeout: 5000,
    requestTimeout: 20000,
    retry: { initialRetryTime: 100, retries: 8 },
  })
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function produce(broker, topic, count, partitions, mode) {
  const idempotent = mode === 'idempotent'
  const producer = client(broker).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent,
    maxInFlightRequests: idempotent ? 1 : undefined,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  const results = []
  try {
    // Several sends of 50 records, each spread over the partitions explicitly.
    for (let start = 0; start < count; start += 50) {
      const messages = []
      for (let i = start; i < Math.min(count, start + 50); i++) {
        messages.push({ key: `k${i}`, value: `${mode}-${i}`, partition: i % partitions, headers: { i: `${i}` } })
      }
      const meta = await producer.send({ topic, acks: -1, messages })
      for (const m of meta) {
        results.push({ partition: m.partition, errorCode: m.errorCode, baseOffset: Number(m.baseOffset) })
      }
    }
    // One 'end' record closes each partition, for the consumer to know it has read everything.
    const ends = Array.from({ length: partitions }, (_, p) => ({ key: 'end', value: 'end', partition: p }))
    await producer.send({ topic, acks: -1, messages: ends })
  } finally {
    await producer.disconnect()
  }
  out({ mode, sent: count, results })
}

async function txn(broker, topic, txnId) {
  const producer = client(broker).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    transactionalId: txnId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  })
  await producer.connect()
  const steps = []
  try {
    const batch = (tag, n) => Array.from({ length: n }, (_, i) => ({
      key: `${tag}-${i}`, value: `${tag}-${i}`, partition: i % 2,
    }))
    let t = await producer.transaction()
    await t.send({ topic, messages: batch('committed1', 10) })
    await t.commit()
    steps.push('committed1')

    t = await producer.transaction()
    await t.send({ topic, messages: batch('aborted', 10) })
    await t.abort()
    steps.push('aborted')

    t = await producer.transaction()
    await t.send({ topic, messages: [...batch('committed2', 10), { key: 'end', value: 'end', partition: 0 },
      { key: 'end', value: 'end', partition: 1 }] })
    await t.commit()
    steps.push('committed2')
  } finally {
    await producer.disconnect()
  }
  out({ steps })
}

async function consume(broker, topic, group, endValue, isolation) {
  const consumer = client(broker).consumer({
    groupId: group,
    readUncommitted: isolation === 'uncommitted',
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
  })
  await consumer.connect()
  const messages = []
  const meta = await client(broker).admin()
  await meta.connect()
  const partitions = (await meta.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length
  await meta.disconnect()
  // Stop when every partition delivered END_VALUE (the last record written to each).
  const ended = new Set()
  let timedOut = false
  await new Promise(async (resolve, reject) => {
    const timer = setTimeout(() => { timedOut = true; resolve() }, CONSUME_TIMEOUT_MS)
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const value = message.value === null ? null : message.value.toString()
          messages.push({ partition, offset: Number(message.offset),
            key: message.key === null ? null : message.key.toString(), value })
          if (value === endValue) {
            ended.add(partition)
            if (ended.size === partitions) { clearTimeout(timer); resolve() }
          }
        },
      })
    } catch (e) { clearTimeout(timer); reject(e) }
  })
  await consumer.disconnect()
  out({ isolation, timedOut, messages })
}

const [cmd, ...args] = process.argv.slice(2)
try {
  if (cmd === 'produce') await produce(args[0], args[1], Number(args[2]), Number(args[3]), args[4] || 'plain')
  else if (cmd === 'txn') await txn(args[0], args[1], args[2])
  else if (cmd === 'consume') await consume(args[0], args[1], args[2], args[3], args[4] || 'committed')
  else throw new Error(`unknown command ${cmd}`)
  process.exit(0)
} catch (e) {
  out({ error: String(e && e.stack ? e.stack : e), name: e && e.name, type: e && e.type })
  process.exit(1)
}
