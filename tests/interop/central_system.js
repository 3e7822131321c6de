'use strict';
/**
 * A central system on ocpp-rpc (RPCServer, strict mode, OCPP 1.6J) for the twin to
 * talk to: an implementation written by other people, from the schemas, so the twin's
 * frames are checked by something that does not share our Python `ocpp` library.
 *
 * Usage: node central_system.js [--heartbeat SECONDS]
 * stdout: JSON lines — {event:'listening', url} first (the backend URL to give the
 *   charger, ending in '/': it appends its identity), then {event:'call', method,
 *   params} for each CALL the charger sends, {event:'result', ...} for each CALL we
 *   send, and last {event:'summary', ...}.
 * stdin: JSON lines, run in order: {run: [names]} sends those CSMS-initiated calls in
 *   order (a name is a key of CALLS below; 'TriggerMessage' triggers every message
 *   1.6 has) and prints {event:'ran', results}; {end: true} (or stdin closing) prints
 *   the summary of everything and exits.
 */

const {RPCServer} = require('ocpp-rpc');
const {emit, Recorder, outcome, until, readCommands} = require('./report');

const args = process.argv.slice(2);
const HEARTBEAT_S = args.includes('--heartbeat')
    ? Number(args[args.indexOf('--heartbeat') + 1]) : 20;
const FOLLOW_UP_MS = 8000;  // wall ms for what a call makes the charger send
const CONNECT_MS = 10000;   // wall ms for the charger to (re)connect before a call
const UNREACHABLE = 'http://127.0.0.1:9';  // discard port: downloads and uploads fail

const recorder = new Recorder();
const state = {client: null, identity: null, protocol: null, nextTransactionId: 100,
               openTransactionId: null, lastTransactionId: null};

const server = new RPCServer({
    protocols: ['ocpp1.6'],
    strictMode: true,
    callTimeoutMs: 20000,
    pingIntervalMs: 0,
});

const now = () => new Date().toISOString();
const later = (s) => new Date(Date.now() + s * 1000).toISOString();

// -- answers to the charger's CALLs ---------------------------------------------------
const ANSWERS = {
    BootNotification: () => ({status: 'Accepted', currentTime: now(), interval: HEARTBEAT_S}),
    Heartbeat: () => ({currentTime: now()}),
    StatusNotification: () => ({}),
    Authorize: () => ({idTagInfo: {status: 'Accepted'}}),
    StartTransaction: () => {
        const transactionId = state.nextTransactionId++;
        state.openTransactionId = transactionId;
        state.lastTransactionId = transactionId;
        return {transactionId, idTagInfo: {status: 'Accepted'}};
    },
    StopTransaction: ({params}) => {
        if (params.transactionId === state.openTransactionId) {
            state.openTransactionId = null;
        }
        return {idTagInfo: {status: 'Accepted'}};
    },
    MeterValues: () => ({}),
    DataTransfer: () => ({status: 'UnknownVendorId'}),
    DiagnosticsStatusNotification: () => ({}),
    FirmwareStatusNotification: () => ({}),
};

server.on('client', (client) => {
    state.client = client;
    state.identity = client.identity;
    state.protocol = client.protocol;
    recorder.watch(client);
    for (const [method, answer] of Object.entries(ANSWERS)) {
        client.handle(method, answer);
    }
    emit({event: 'connected', identity: client.identity, protocol: client.protocol});
    client.once('close', ({code, reason}) => {
        if (state.client === client) {
            state.client = null;
        }
        emit({event: 'disconnected', code, reason: String(reason || '')});
    });
});

// -- the CSMS-initiated CALLs: payload, and what the charger sends because of it ------
const PROFILE = {
    chargingProfileId: 7, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile',
    chargingProfileKind: 'Relative',
    chargingSchedule: {chargingRateUnit: 'A', chargingSchedulePeriod: [
        {startPeriod: 0, limit: 16.0, numberPhases: 1}, {startPeriod: 1800, limit: 10.0}]},
};
const TRIGGERABLE = ['BootNotification', 'DiagnosticsStatusNotification',
                     'FirmwareStatusNotification', 'Heartbeat', 'MeterValues',
                     'StatusNotification'];
const ENDS = {DiagnosticsStatusNotification: ['Uploaded', 'UploadFailed'],
              FirmwareStatusNotification: ['Installed', 'DownloadFailed',
                                           'InstallationFailed']};

// name → the CALLs it stands for, each [method, params], or [label, method, params,
// the CALL the charger sends because of it, the check of that CALL's params].
const CALLS = {
    GetConfiguration: () => [['GetConfiguration', {}]],
    // Turns the local list on, so that SendLocalList below takes its Accepted path.
    ChangeConfiguration: () => [['ChangeConfiguration',
                                 {key: 'LocalAuthListEnabled', value: 'true'}]],
    ClearCache: () => [['ClearCache', {}]],
    DataTransfer: () => [['DataTransfer',
                          {vendorId: 'org.example.interop', messageId: 'ping', data: 'x'}]],
    GetLocalListVersion: () => [['GetLocalListVersion', {}]],
    SendLocalList: () => [['SendLocalList', {listVersion: 3, updateType: 'Full',
        localAuthorizationList: [{idTag: 'INTEROP-LOCAL',
                                  idTagInfo: {status: 'Accepted', expiryDate: later(86400)}}]}]],
    ReserveNow: () => [['ReserveNow', {connectorId: 1, expiryDate: later(3600),
                                       idTag: 'INTEROP-RESERVE', reservationId: 42}]],
    CancelReservation: () => [['CancelReservation', {reservationId: 42}]],
    SetChargingProfile: () => [['SetChargingProfile',
                                {connectorId: 1, csChargingProfiles: PROFILE}]],
    GetCompositeSchedule: () => [['GetCompositeSchedule',
                                  {connectorId: 1, duration: 3600, chargingRateUnit: 'A'}]],
    ClearChargingProfile: () => [['ClearChargingProfile', {id: 7}]],
    TriggerMessage: () => TRIGGERABLE.map((m) => [
        `TriggerMessage(${m})`, 'TriggerMessage',
        m === 'StatusNotification' || m === 'MeterValues'
            ? {requestedMessage: m, connectorId: 1} : {requestedMessage: m},
        m, () => true]),
    ChangeAvailability: () => [['ChangeAvailability', {connectorId: 0, type: 'Operative'}]],
    RemoteStartTransaction: () => [['RemoteStartTransaction', 'RemoteStartTransaction',
        {connectorId: 1, idTag: 'INTEROP-REMOTE'}, 'StartTransaction', () => true]],
    RemoteStopTransaction: () => [['RemoteStopTransaction', 'RemoteStopTransaction',
        {transactionId: state.openTransactionId ?? state.lastTransactionId ?? 1},
        'StopTransaction', () => true]],
    UnlockConnector: () => [['UnlockConnector', {connectorId: 1}]],
    GetDiagnostics: () => [['GetDiagnostics', 'GetDiagnostics',
        {location: `${UNREACHABLE}/diagnostics/`, retries: 0},
        'DiagnosticsStatusNotification',
        (p) => ENDS.DiagnosticsStatusNotification.includes(p.status)]],
    UpdateFirmware: () => [['UpdateFirmware', 'UpdateFirmware',
        {location: `${UNREACHABLE}/firmware.bin`, retrieveDate: now(), retries: 0},
        'FirmwareStatusNotification',
        (p) => ENDS.FirmwareStatusNotification.includes(p.status)]],
    Reset: () => [['Reset', 'Reset', {type: 'Soft'}, 'BootNotification', () => true]],
};

async function send(label, method, params, followUp, done) {
    const entry = {event: 'result', label, method, params};
    if (!state.client && !(await until(() => state.client, CONNECT_MS))) {
        Object.assign(entry, {error: 'the charger is not connected'});
        emit(entry);
        return entry;
    }
    const mark = recorder.received.length;
    Object.assign(entry, await outcome(state.client.call(method, params)));
    const accepted = entry.result && !['Rejected', 'NotSupported', 'Failed']
        .includes(entry.result.status);
    if (followUp && accepted) {
        entry.followUp = followUp;
        entry.followed = await until(
            () => recorder.since(mark, followUp).some((c) => done(c.params)), FOLLOW_UP_MS);
    }
    emit(entry);
    return entry;
}

async function run(names) {
    const results = [];
    for (const name of names) {
        const build = CALLS[name];
        if (!build) {
            results.push({label: name, error: `no such call in central_system.js: ${name}`});
            continue;
        }
        for (const spec of build()) {
            const [label, method, params, followUp, done] =
                spec.length === 2 ? [spec[0], spec[0], spec[1], null, null] : spec;
            results.push(await send(label, method, params, followUp, done));
        }
    }
    return results;
}

const allResults = [];
let finished = false;
async function finish() {
    if (finished) {
        return;
    }
    finished = true;
    emit(recorder.summary({identity: state.identity, protocol: state.protocol,
                           results: allResults}));
    await Promise.race([server.close({force: true}),
                        new Promise((resolve) => setTimeout(resolve, 2000))]);
    process.exit(0);
}

// Commands run one after the other, in the order they came.
let queue = Promise.resolve();
function command(cmd) {
    queue = queue.then(async () => {
        if (Array.isArray(cmd.run)) {
            const results = await run(cmd.run);
            allResults.push(...results);
            emit({event: 'ran', names: cmd.run, results});
        } else if (cmd.end) {
            await finish();
        }
    }).catch((err) => {
        allResults.push({label: 'central_system.js', error: String(err && err.stack)});
        return finish();
    });
}

async function main() {
    const http = await server.listen(0, '127.0.0.1');
    emit({event: 'listening', url: `ws://127.0.0.1:${http.address().port}/ocpp/`});
    readCommands(command, () => command({end: true}));
}

main().catch((err) => {
    process.stderr.write(`central_system.js: ${err.stack}\n`);
    process.exit(2);
});
