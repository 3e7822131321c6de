'use strict';
/**
 * What the interop scripts tell the Python test, and how: one JSON object per line on
 * stdout (the test reads them as they come), the last one the summary it asserts on.
 *
 * Why a recorder: ocpp-rpc's strict mode does not stop at answering a bad frame with
 * a CALLERROR; it emits 'strictValidationFailure' for each frame, in either direction,
 * that breaks the OCPP 1.6 JSON schemas, and 'badMessage' for what is not OCPP-J at
 * all. Collecting both makes "the other side is schema-clean" one list to assert empty,
 * each entry carrying the frame and ajv's reason.
 */

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

class Recorder {
    constructor() {
        this.violations = [];   // strict-mode schema failures, both directions
        this.badMessages = [];  // frames that are not OCPP-J (not JSON, wrong shape …)
        this.received = [];     // CALLs the peer sent us: {method, params}
        this.unhandled = [];    // CALLs we answered with a CALLERROR
    }

    watch(client) {
        client.on('strictValidationFailure', (e) => {
            const entry = {
                // 'in': the peer sent it; 'out': we were about to send it
                direction: e.outbound ? 'out' : 'in',
                frame: e.isCall ? 'CALL' : 'CALLRESULT',
                method: e.method,
                messageId: e.messageId,
                params: e.params,
                result: e.result,
                error: String(e.error && e.error.message),
                code: e.error && e.error.rpcErrorCode,
            };
            this.violations.push(entry);
            emit({event: 'violation', ...entry});
        });
        client.on('badMessage', (e) => {
            const entry = {message: e.buffer.toString('utf8'), error: String(e.error.message)};
            this.badMessages.push(entry);
            emit({event: 'badMessage', ...entry});
        });
        client.on('call', ({outbound, payload}) => {
            if (!outbound) {
                const [, messageId, method, params] = payload;
                this.received.push({method, params, messageId});
                emit({event: 'call', method, params});
            }
        });
        client.on('callError', (e) => {
            if (!e.outbound) {
                this.unhandled.push({method: e.method, params: e.params,
                                     error: String(e.error && e.error.message)});
            }
        });
    }

    /** The CALLs of `method` received since index `from` of `received`. */
    since(from, method) {
        return this.received.slice(from).filter((c) => c.method === method);
    }

    summary(extra) {
        return {
            event: 'summary',
            violations: this.violations,
            badMessages: this.badMessages,
            unhandled: this.unhandled,
            received: this.received.map((c) => c.method),
            ...extra,
        };
    }
}

/** Outcome of one of our CALLs: its answer, or the error the call ended with. */
async function outcome(promise) {
    try {
        return {result: await promise};
    } catch (err) {
        return {error: String(err && err.message), code: err && err.rpcErrorCode,
                details: err && err.details};
    }
}

/** Resolve when `predicate()` holds, or after `ms` (wall) with false. */
async function until(predicate, ms) {
    const deadline = Date.now() + ms;
    while (!predicate()) {
        if (Date.now() >= deadline) {
            return false;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
}

/** Each line of stdin as parsed JSON; `onEnd` when the test closes it. */
function readCommands(onCommand, onEnd) {
    let buffer = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
        buffer += chunk;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (line) {
                onCommand(JSON.parse(line));
            }
        }
    });
    process.stdin.on('end', onEnd);
}

module.exports = {emit, Recorder, outcome, until, readCommands};
