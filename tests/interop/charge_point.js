'use strict';
/**
 * A charge point on ocpp-rpc (RPCClient, strict mode, OCPP 1.6J) for the mock CSMS to
 * talk to: an implementation written by other people, from the schemas, so the mock
 * CSMS's frames are checked by something that does not share our Python `ocpp` library
 * (a bug both sides share would pass every test of ours).
 *
 * Usage: node charge_point.js --endpoint ws://HOST:PORT/PATH --identity ID --tag IDTAG
 * It runs one session (BootNotification, StatusNotification, Authorize,
 * StartTransaction, MeterValues, StopTransaction, Heartbeat, DataTransfer), prints
 * {event:'session-done'}, then answers every CSMS-initiated 1.6 call — and sends what
 * a charger sends because of one (a triggered message, the transaction a remote start
 * starts, status notifications of a diagnostics upload or a firmware update, the boot
 * after a reset). When stdin closes it finishes what it started, prints
 * {event:'summary', ...} (see report.js) and exits.
 */

const {RPCClient} = require('ocpp-rpc');
const {emit, Recorder, outcome, until, readCommands} = require('./report');

const argv = process.argv.slice(2);
function arg(name) {
    const at = argv.indexOf(`--${name}`);
    if (at < 0 || at + 1 >= argv.length) {
        process.stderr.write(`charge_point.js: --${name} is required\n`);
        process.exit(2);
    }
    return argv[at + 1];
}
const ENDPOINT = arg('endpoint');
const IDENTITY = arg('identity');
const TAG = arg('tag');
const FINISH_MS = 10000;  // wall ms to finish the follow-ups once told to stop

const recorder = new Recorder();
const sent = [];          // our CALLs and how each ended
const followUps = [];     // {settled, error} of what the CSMS's calls made us send
const cp = new RPCClient({
    endpoint: ENDPOINT, identity: IDENTITY, protocols: ['ocpp1.6'], strictMode: true,
    reconnect: false, callTimeoutMs: 10000, pingIntervalMs: 0,
});
recorder.watch(cp);

const state = {
    transactionId: null, starting: Promise.resolve(), meterWh: 1000, listVersion: 0, reservations: new Set(),
    profiles: new Set(), config: {
        HeartbeatInterval: {value: '60', readonly: false},
        MeterValueSampleInterval: {value: '60', readonly: false},
        NumberOfConnectors: {value: '1', readonly: true},
        AuthorizeRemoteTxRequests: {value: 'false', readonly: false},
        SupportedFeatureProfiles: {
            value: 'Core,FirmwareManagement,LocalAuthListManagement,Reservation,'
                + 'SmartCharging,RemoteTrigger', readonly: true},
    },
};
const now = () => new Date().toISOString();

async function call(method, params) {
    const ended = await outcome(cp.call(method, params));
    sent.push({method, params, ...ended});
    return ended.result;
}

const status = (connectorId, value) => call('StatusNotification', {
    connectorId, errorCode: 'NoError', status: value, timestamp: now()});

function meterValue(context) {
    return {timestamp: now(), sampledValue: [
        {value: String(state.meterWh), context, format: 'Raw',
         measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh'},
        {value: '15.9', context, measurand: 'Current.Import', phase: 'L1', unit: 'A'},
        {value: '229.8', context, measurand: 'Voltage', phase: 'L1-N', unit: 'V'},
    ]};
}

function startTransaction(idTag) {
    // Kept: a RemoteStop may arrive in the same read as the StartTransaction's answer.
    state.starting = (async () => {
        await status(1, 'Preparing');
        const answer = await call('StartTransaction', {
            connectorId: 1, idTag, meterStart: state.meterWh, timestamp: now()});
        state.transactionId = answer ? answer.transactionId : null;
    })();
    return state.starting.then(() => status(1, 'Charging'));
}

async function stopTransaction(reason, idTag) {
    const transactionId = state.transactionId;
    state.transactionId = null;
    state.meterWh += 250;
    await call('StopTransaction', {
        transactionId, meterStop: state.meterWh, timestamp: now(), reason,
        ...(idTag ? {idTag} : {}),
        transactionData: [meterValue('Transaction.End')]});
    await status(1, 'Finishing');
    await status(1, 'Available');
}

async function boot() {
    await call('BootNotification', {
        chargePointVendor: 'ocpp-rpc interop', chargePointModel: 'JS-CP',
        chargePointSerialNumber: 'JS-0001', firmwareVersion: '2.2.1'});
    await status(0, 'Available');
    await status(1, 'Available');
}

async function session() {
    await cp.connect();
    await boot();
    await call('Authorize', {idTag: TAG});
    await startTransaction(TAG);
    state.meterWh += 500;
    await call('MeterValues', {connectorId: 1, transactionId: state.transactionId,
                               meterValue: [meterValue('Sample.Periodic')]});
    await stopTransaction('Local', TAG);
    await call('Heartbeat', {});
    await call('DataTransfer', {vendorId: 'org.example.interop', messageId: 'hello',
                                data: 'from ocpp-rpc'});
}

/** Send what an answer promises once the answer is out (a charger does it after). */
function after(work) {
    const record = {settled: false, error: null};
    followUps.push(record);
    new Promise((resolve) => setTimeout(resolve, 20)).then(work).then(
        () => { record.settled = true; },
        (err) => { record.settled = true; record.error = String(err && err.stack); });
}

const TRIGGERED = {
    BootNotification: () => call('BootNotification', {
        chargePointVendor: 'ocpp-rpc interop', chargePointModel: 'JS-CP'}),
    DiagnosticsStatusNotification: () => call('DiagnosticsStatusNotification',
                                              {status: 'Idle'}),
    FirmwareStatusNotification: () => call('FirmwareStatusNotification', {status: 'Idle'}),
    Heartbeat: () => call('Heartbeat', {}),
    MeterValues: () => call('MeterValues', {connectorId: 1,
                                            meterValue: [meterValue('Trigger')]}),
    StatusNotification: () => status(1, state.transactionId ? 'Charging' : 'Available'),
};

// -- answers to the CSMS's CALLs ------------------------------------------------------
const HANDLERS = {
    GetConfiguration: ({params}) => {
        const wanted = params.key && params.key.length ? params.key
            : Object.keys(state.config);
        return {
            configurationKey: wanted.filter((k) => k in state.config).map((key) => (
                {key, readonly: state.config[key].readonly, value: state.config[key].value})),
            unknownKey: wanted.filter((k) => !(k in state.config)),
        };
    },
    ChangeConfiguration: ({params}) => {
        const entry = state.config[params.key];
        if (!entry) {
            return {status: 'NotSupported'};
        }
        if (entry.readonly) {
            return {status: 'Rejected'};
        }
        entry.value = params.value;
        return {status: 'Accepted'};
    },
    RemoteStartTransaction: ({params}) => {
        if (state.transactionId !== null) {
            return {status: 'Rejected'};
        }
        after(() => startTransaction(params.idTag));
        return {status: 'Accepted'};
    },
    RemoteStopTransaction: async ({params}) => {
        await state.starting;
        if (params.transactionId !== state.transactionId) {
            return {status: 'Rejected'};
        }
        after(() => stopTransaction('Remote'));
        return {status: 'Accepted'};
    },
    Reset: () => {
        after(async () => {  // a reboot: drop the connection, come back, boot
            await cp.close({code: 1000, reason: 'Reset'});
            await cp.connect();
            await boot();
        });
        return {status: 'Accepted'};
    },
    UnlockConnector: () => ({status: state.transactionId ? 'UnlockFailed' : 'Unlocked'}),
    TriggerMessage: ({params}) => {
        const send = TRIGGERED[params.requestedMessage];
        if (!send) {
            return {status: 'NotImplemented'};
        }
        after(send);
        return {status: 'Accepted'};
    },
    ChangeAvailability: ({params}) => {
        after(() => status(params.connectorId,
                           params.type === 'Operative' ? 'Available' : 'Unavailable'));
        return {status: 'Accepted'};
    },
    ClearCache: () => ({status: 'Accepted'}),
    DataTransfer: ({params}) => ({status: 'Accepted', data: `echo:${params.data ?? ''}`}),
    GetLocalListVersion: () => ({listVersion: state.listVersion}),
    SendLocalList: ({params}) => {
        state.listVersion = params.listVersion;
        return {status: 'Accepted'};
    },
    ReserveNow: ({params}) => {
        state.reservations.add(params.reservationId);
        after(() => status(params.connectorId || 1, 'Reserved'));
        return {status: 'Accepted'};
    },
    CancelReservation: ({params}) => {
        if (!state.reservations.delete(params.reservationId)) {
            return {status: 'Rejected'};
        }
        after(() => status(1, 'Available'));
        return {status: 'Accepted'};
    },
    SetChargingProfile: ({params}) => {
        state.profiles.add(params.csChargingProfiles.chargingProfileId);
        return {status: 'Accepted'};
    },
    ClearChargingProfile: ({params}) => {
        const known = params.id === undefined || state.profiles.delete(params.id);
        return {status: known ? 'Accepted' : 'Unknown'};
    },
    GetCompositeSchedule: ({params}) => ({
        status: 'Accepted', connectorId: params.connectorId, scheduleStart: now(),
        chargingSchedule: {
            duration: params.duration, startSchedule: now(),
            chargingRateUnit: params.chargingRateUnit || 'A',
            chargingSchedulePeriod: [{startPeriod: 0, limit: 16.0, numberPhases: 1}],
        },
    }),
    GetDiagnostics: () => {
        after(async () => {
            await call('DiagnosticsStatusNotification', {status: 'Uploading'});
            await call('DiagnosticsStatusNotification', {status: 'Uploaded'});
        });
        return {fileName: 'diagnostics-JS-0001.log'};
    },
    UpdateFirmware: () => {
        after(async () => {
            for (const value of ['Downloading', 'Downloaded', 'Installing', 'Installed']) {
                await call('FirmwareStatusNotification', {status: value});
            }
        });
        return {};
    },
};
for (const [method, handler] of Object.entries(HANDLERS)) {
    cp.handle(method, handler);
}

let finished = false;
async function finish(sessionError) {
    if (finished) {
        return;
    }
    finished = true;
    const settled = await until(() => followUps.every((f) => f.settled), FINISH_MS);
    emit(recorder.summary({
        sent, sessionError, protocol: cp.protocol, followUpsFinished: settled,
        followUpErrors: followUps.filter((f) => f.error).map((f) => f.error)}));
    await Promise.race([cp.close({force: true}),
                        new Promise((resolve) => setTimeout(resolve, 2000))]);
    process.exit(0);
}

readCommands(() => {}, () => finish(null));
session().then(
    () => emit({event: 'session-done', identity: IDENTITY, protocol: cp.protocol}),
    (err) => finish(String(err && err.stack)),
);
