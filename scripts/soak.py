"""The soak: the local stack (`tessera local up`) under devices, uploads and faults, then a check of
everything the emulator holds. Run through scripts/soak (it builds and picks the Python of .venv).

Devices are `tessera send` processes (libmosquitto clients, QoS 1, pieces shuffled with one sent twice)
through the stack's mosquitto; uploads are browser-style (sign in, POST /uploads, the presigned POST).
Faults follow a schedule printed at the start: function instances SIGKILLed while busy, the broker
stopped (the stack starts it again), and a fault proxy between each function and the emulator.
Loopback only. Exit status 0 when every check passed, 1 when one failed (each names its picture).
"""
import argparse
import base64
import hashlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fault_proxy import FaultProxy  # noqa: E402

FUNCTIONS = ("piece-storage", "picture-processor", "picture-api")
PHOTOS = ("fresh-flower.jpg", "ladybird-420.jpg", "ladybird-422.jpg", "ladybird-444.jpg",
          "ladybird-progressive.jpg", "ladybird-gray.jpg")
# Public list prices, x86, us-east-1 (stated in the output).
PRICE_GB_SECOND = 0.0000166667
PRICE_REQUEST = 0.20 / 1_000_000


def now():
    return time.monotonic()


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
        self.state = os.path.abspath(args.state)
        self.tessera = os.path.abspath(args.tessera)
        self.pictures = {}          # "collection/name" -> record
        self.lock = threading.Lock()
        self.notifications = defaultdict(list)   # picture -> [(event, message, sent_ms)]
        self.witness = defaultdict(list)         # the same from the stack's own subscriber
        self.other_notifications = []
        self.fault_log = []
        self.violations = []
        self.start = None
        self.stop_notifications = threading.Event()

    def say(self, line):
        print(f"[soak {now() - (self.start or now()):7.1f}s] {line}", flush=True)

    # --- the stack ---------------------------------------------------------------------------------

    def start_stack(self):
        os.makedirs(self.state, exist_ok=True)
        for name in ("up.env", "up.pid"):
            try:
                os.unlink(os.path.join(self.state, name))
            except FileNotFoundError:
                pass
        rate = self.args.proxy_fault_rate if self.args.faults else 0.0
        self.proxies = {f: FaultProxy(f, rate, self.args.seed + i) for i, f in enumerate(FUNCTIONS)}
        command = [self.tessera, "local", "up", "--port", "0", "--state", self.state,
                   "--template", os.path.join(self.root, "template.yaml"),
                   "--emulator", os.path.join(self.root, ".venv/bin/moto_server")]
        if self.args.package:
            command += ["--package", self.args.package]
        for name, proxy in self.proxies.items():
            command += ["--function-endpoint", f"{name}={proxy.url}"]
        self.up_log_path = os.path.join(self.state, "up.out")
        self.up_log = open(self.up_log_path, "w")
        self.up = subprocess.Popen(command, stdout=self.up_log, stderr=subprocess.STDOUT, cwd=self.root)
        env_path = os.path.join(self.state, "up.env")
        limit = now() + 120
        while not os.path.exists(env_path):
            if self.up.poll() is not None or now() > limit:
                raise SystemExit(f"soak: tessera local up did not start; see {self.up_log_path}")
            time.sleep(0.2)
        time.sleep(0.2)
        self.env = {}
        for line in open(env_path):
            if line.startswith("export "):
                key, _, value = line[7:].strip().partition("=")
                self.env[key] = value.strip("'")
        host, port = self.env["AWS_ENDPOINT_URL"].split("//")[1].split(":")
        for proxy in self.proxies.values():
            proxy.upstream = (host, int(port))
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
        config = Config(retries={"max_attempts": 10, "mode": "standard"})
        url = self.env["AWS_ENDPOINT_URL"]
        self.s3 = session.client("s3", endpoint_url=url, config=config)
        self.db = session.client("dynamodb", endpoint_url=url, config=config)
        self.sqs = session.client("sqs", endpoint_url=url, config=config)
        self.sns = session.client("sns", endpoint_url=url, config=config)
        self.idp = session.client("cognito-idp", endpoint_url=url, config=config)
        # The soak's own subscriber to the notification topic: every picture.* it publishes, counted.
        queue = self.sqs.create_queue(QueueName="soak-notifications")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.env["NOTIFY_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)
        self.notify_queue = queue
        threading.Thread(target=self.collect_notifications, daemon=True).start()
        self.say(f"stack up: emulator {url}, MQTT {self.env['TESSERA_MQTT']}, page {self.env['TESSERA_PAGE_URL']}; "
                 + ", ".join(f"{n} via proxy {p.url}" for n, p in self.proxies.items()))

    def parse_notification(self, message):
        envelope = json.loads(message["Body"])
        body = json.loads(envelope["Message"])
        event = (envelope.get("MessageAttributes", {}).get("event", {}) or {}).get("Value") or body.get("event", "?")
        picture = body.get("picture") or f"{body.get('collection')}/{body.get('name')}"
        return picture, event, body, int(message["Attributes"]["SentTimestamp"])

    def collect_notifications(self):
        # The stack's own subscriber (NOTIFICATIONS_QUEUE_URL) is read too, as a second witness: the emulator's
        # SNS has been seen to deliver a message to one subscribed queue and not the other.
        queues = [(self.notify_queue, self.notifications), (self.env["NOTIFICATIONS_QUEUE_URL"], self.witness)]
        turn = 0
        while not self.stop_notifications.is_set():
            queue, into = queues[turn % 2]
            turn += 1
            try:
                answer = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                                  AttributeNames=["SentTimestamp"])
            except Exception as error:  # the emulator stopping at the end
                if self.stop_notifications.is_set():
                    return
                self.say(f"notifications: {error}")
                time.sleep(1)
                continue
            for message in answer.get("Messages", []):
                try:
                    picture, event, body, sent = self.parse_notification(message)
                except (ValueError, KeyError):
                    picture = None  # not a picture's (the alarm topic's)
                if picture:
                    with self.lock:
                        into[picture].append((event, body, sent))
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def children(self, executable):
        """pids of the stack's children running `executable` (a build product, or a zip's bootstrap)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != self.up.pid:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode()
            except (OSError, IndexError, ValueError):
                continue
            if argv0.endswith("/" + executable) or argv0.endswith(f"/{executable}/bootstrap") or argv0 == executable:
                found.append(int(entry))
        return found

    @staticmethod
    def cpu_ticks(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None

    # --- faults ------------------------------------------------------------------------------------

    def schedule(self, load_seconds):
        kinds = ["kill piece-storage", "kill picture-api", "restart broker"]
        if self.args.processor_kills:
            kinds.append("kill picture-processor")
        events, t, i = [], self.args.fault_interval, 0
        while t < load_seconds - 2:
            # Jittered: a schedule with the period of Lambda's retry delays (60 s) would kill an async
            # event's every attempt, each retry landing on the next kill.
            events.append((max(1.0, t + self.rng.uniform(-5, 5)), kinds[i % len(kinds)]))
            t += self.args.fault_interval
            i += 1
        return events

    def run_faults(self, events):
        for at, kind in events:
            while now() - self.start < at:
                time.sleep(0.1)
            if kind == "restart broker":
                pids = self.children("mosquitto")
                for pid in pids:
                    os.kill(pid, signal.SIGTERM)
                self.fault_log.append((now() - self.start, kind, pids))
                self.say(f"fault: broker stopped (pid {pids}); the stack starts it again")
                continue
            function = kind.split()[-1]
            pids = self.children(function)
            if not pids:
                self.say(f"fault: no {function} instance found")
                continue
            # Busy instances first (CPU time moving): SIGKILL in the middle of an invocation.
            victim, limit = None, now() + 3
            while victim is None and now() < limit:
                before = {pid: self.cpu_ticks(pid) for pid in pids}
                time.sleep(0.05)
                busy = [pid for pid in pids if before[pid] is not None and self.cpu_ticks(pid) not in (None, before[pid])]
                if busy:
                    victim = self.rng.choice(busy)
            victim = victim or self.rng.choice(pids)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.fault_log.append((now() - self.start, kind, [victim]))
            self.say(f"fault: SIGKILL {function} instance {victim}")

    # --- devices -----------------------------------------------------------------------------------

    def send(self, photo, machine, label, *extra):
        command = [self.tessera, "send", photo, "--broker", self.env["TESSERA_MQTT"], "--machine-id", machine,
                   "--label", label, "--piece-bytes", str(self.args.piece_bytes), "--shuffle", "--timeout", "20",
                   "--state", self.state_file(machine, label), *extra]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.root)
        return result.returncode, result.stdout.decode(errors="replace")

    def state_file(self, machine, label):
        return os.path.join(self.state, "send", f"{machine}-{label}.json")

    def device(self, index, load_end):
        machine = f"soak-dev-{index}"
        count = 0
        while now() < load_end:
            count += 1
            label = f"p{count}"
            photo = os.path.join(self.root, "Tests/Fixtures/photos", self.rng.choice(PHOTOS))
            data = open(photo, "rb").read()
            pieces = math.ceil(len(data) / self.args.piece_bytes)
            roll = self.rng.random()
            kind = "complete" if roll < 0.65 else "interrupted" if roll < 0.83 else "incomplete" if roll < 0.95 else "abandoned"
            if pieces < 3 and kind in ("incomplete", "abandoned"):
                kind = "complete"
            picture = f"{machine}/{label}"
            record = {"kind": kind, "source": "device", "photo": photo, "sha256": hashlib.sha256(data).hexdigest(),
                      "pieces": pieces, "bytes": data, "started": now()}
            with self.lock:
                self.pictures[picture] = record
            if kind in ("interrupted", "abandoned"):
                code, output = self.send(photo, machine, label, "--stop-after", str(self.rng.randint(1, pieces - 1)))
                if code not in (0, 3):
                    record["note"] = f"first send exited {code}"
                if kind == "abandoned" or code == 0:
                    record["kind"] = "complete" if code == 0 else kind
                    if code != 0:
                        continue
                else:
                    time.sleep(self.rng.uniform(0.2, 2.0))  # stopped mid-photo, resumes later
            if kind == "incomplete":
                # The device lost some pieces: its state says they went, so --resume sends the rest and END.
                missing = sorted(self.rng.sample(range(1, pieces + 1), self.rng.randint(1, min(3, pieces - 1))))
                record["missing"] = missing
                os.makedirs(os.path.dirname(self.state_file(machine, label)), exist_ok=True)
                with open(self.state_file(machine, label), "w") as f:
                    json.dump({"photo": photo, "sha256": record["sha256"], "machine_id": machine, "label": label,
                               "topic": f"tessera/pieces/{machine}", "piece_bytes": self.args.piece_bytes,
                               "pieces": pieces, "acknowledged": missing}, f)
            done = False
            for attempt in range(30):
                resume = kind in ("interrupted", "incomplete") or attempt > 0
                code, output = self.send(photo, machine, label, *(["--resume"] if resume else []))
                if code == 0:
                    done = True
                    break
                record.setdefault("send_failures", []).append(output.strip().splitlines()[-1:] or [""])
                time.sleep(1)  # the broker restarting: the device tries again
            record["end"] = now()
            if not done:
                record["kind"] = "unsent"
            elif kind == "interrupted":
                record["kind"] = "complete"  # stopped mid-photo, resumed, finished"
            time.sleep(self.rng.uniform(*self.args.device_pause))  # a device takes its next photo later

    # --- uploads -----------------------------------------------------------------------------------

    def sign_in(self):
        answer = self.idp.initiate_auth(AuthFlow="USER_PASSWORD_AUTH", ClientId=self.env["AUTH_CLIENT_ID"],
                                        AuthParameters={"USERNAME": self.env["TESSERA_USER"],
                                                        "PASSWORD": self.env["TESSERA_PASSWORD"]})
        return answer["AuthenticationResult"]["IdToken"]

    def upload(self, index, token):
        photo = os.path.join(self.root, "Tests/Fixtures/photos", self.rng.choice(PHOTOS))
        data = open(photo, "rb").read()
        name = f"u{index}"
        picture = f"soak-web/{name}"
        record = {"kind": "complete", "source": "upload", "photo": photo, "sha256": hashlib.sha256(data).hexdigest(),
                  "bytes": data, "started": now()}
        with self.lock:
            self.pictures[picture] = record
        for attempt in range(20):
            try:
                body = json.dumps({"collection": "soak-web", "name": name, "contentType": "image/jpeg", "bytes": len(data)})
                request = urllib.request.Request(self.env["TESSERA_PAGE_URL"].rstrip("/") + "/uploads", data=body.encode(),
                                                 headers={"Content-Type": "application/json",
                                                          "Authorization": f"Bearer {token}"}, method="POST")
                form = json.loads(urllib.request.urlopen(request, timeout=60).read())
                boundary = "soak" + os.urandom(8).hex()
                parts = []
                for key, value in form["fields"].items():
                    parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n".encode())
                parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}.jpg\"\r\n"
                             f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
                parts.append(f"--{boundary}--\r\n".encode())
                post = urllib.request.Request(form["url"], data=b"".join(parts), method="POST",
                                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
                urllib.request.urlopen(post, timeout=60).read()
                record["end"] = now()
                return
            except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
                detail = error.read()[:200] if isinstance(error, urllib.error.HTTPError) else ""
                record.setdefault("send_failures", []).append(f"{error} {detail}")
                time.sleep(1 + attempt * 0.5)
        record["kind"] = "unsent"
        record["end"] = now()

    def uploads(self, load_end):
        token = self.sign_in()
        total = self.args.uploads
        if total == 0:
            return
        spacing = max(0.1, (load_end - now()) / total)
        threads = []
        for index in range(1, total + 1):
            thread = threading.Thread(target=self.upload, args=(index, token))
            thread.start()
            threads.append(thread)
            time.sleep(spacing * self.rng.uniform(0.5, 1.5))
            if now() > load_end + 30:
                break
        for thread in threads:
            thread.join()

    # --- the run -----------------------------------------------------------------------------------

    def run(self):
        self.start_stack()
        self.start = now()
        load_seconds = self.args.minutes * 60
        events = self.schedule(load_seconds) if self.args.faults else []
        self.say(f"load: {self.args.devices} devices over MQTT and {self.args.uploads} uploads for {load_seconds:.0f} s")
        if self.args.faults:
            self.say(f"fault proxy: {self.args.proxy_fault_rate:.0%} of each function's AWS requests, evenly one of "
                     + ", ".join(FaultProxy.KINDS) + " (503, throttling: ThrottlingException/SlowDown/Throttling, reset "
                     + "before or after the emulator saw it, 0.5-2 s slower)")
            self.say("fault schedule: " + "; ".join(f"{t:.0f}s {k}" for t, k in events))
        else:
            self.say("faults off")
        load_end = self.start + load_seconds
        workers = [threading.Thread(target=self.device, args=(i, load_end), daemon=True) for i in range(1, self.args.devices + 1)]
        workers.append(threading.Thread(target=self.uploads, args=(load_end,), daemon=True))
        faults = threading.Thread(target=self.run_faults, args=(events,), daemon=True)
        for thread in workers:
            thread.start()
        faults.start()
        for thread in workers:
            thread.join()
        self.load_done = now()
        self.say(f"load sent in {self.load_done - self.start:.0f} s; waiting for the pipeline to settle "
                 f"(at most {self.args.drain_seconds} s)")
        self.wait_for_outcomes()
        for proxy in self.proxies.values():
            proxy.enabled = False
        time.sleep(3)  # a duplicate on its way shows up now
        self.stop_notifications.set()
        time.sleep(1.5)
        ok = self.check()
        self.figures()
        self.stop_stack()
        return ok

    def merge_witness(self):
        """Adds what only the stack's subscriber got; returns those (picture, event)s."""
        drops = []
        with self.lock:
            for picture, seen in list(self.witness.items()):
                for event in {e for e, _, _ in seen}:
                    theirs = [n for n in seen if n[0] == event]
                    have = sum(1 for e, _, _ in self.notifications.get(picture, []) if e == event)
                    if len(theirs) > have:
                        drops.append(f"{picture} {event}")
                        self.notifications[picture] += theirs[have:]
        return drops

    def expected_settled(self):
        return self.expected_settled_with({})

    def expected_settled_with(self, extra):
        waiting = []
        with self.lock:
            for picture, record in self.pictures.items():
                events = [e for e, _, _ in self.notifications.get(picture, []) + extra.get(picture, [])]
                if record["kind"] == "complete" and "picture.ready" not in events:
                    waiting.append(picture)
                if record["kind"] == "incomplete" and "picture.incomplete" not in events:
                    waiting.append(picture)
        return not waiting, waiting

    def wait_for_outcomes(self):
        limit = now() + self.args.drain_seconds
        waiting, shown = [], now()
        while now() < limit:
            settled, waiting = self.expected_settled()
            if not settled and self.witness:
                with self.lock:
                    missing = [p for p in waiting if p in self.witness]
                if missing:
                    settled, waiting = self.expected_settled_with(self.witness)
            if settled:
                self.settled = now()
                self.say("every picture has its outcome")
                return
            if now() - shown > 15:
                shown = now()
                self.say(f"waiting for {len(waiting)} picture(s): {', '.join(sorted(waiting)[:6])}")
            time.sleep(1)
        self.settled = now()
        self.say(f"drain time over; still waiting for {len(waiting)}: {', '.join(sorted(waiting))}")

    def stop_stack(self):
        self.up.send_signal(signal.SIGTERM)
        try:
            self.up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.up.kill()
        for proxy in self.proxies.values():
            proxy.stop()

    # --- checks ------------------------------------------------------------------------------------

    def fail(self, picture, problem):
        self.violations.append(f"{picture}: {problem}")

    def check(self):
        items = {}
        for page in self.db.get_paginator("scan").paginate(TableName=self.env["PICTURES_TABLE"], ConsistentRead=True):
            for item in page["Items"]:
                items[f"{item['collection']['S']}/{item['name']['S']}"] = item
        pieces = defaultdict(list)
        piece_items = defaultdict(dict)
        for page in self.db.get_paginator("scan").paginate(TableName=self.env["PIECES_TABLE"], ConsistentRead=True):
            for item in page["Items"]:
                pieces[item["pictureId"]["S"]].append(int(item["piece"]["N"]))
                piece_items[item["pictureId"]["S"]][int(item["piece"]["N"])] = item
        # What the soak's queue missed and the stack's own subscriber got: counted, and said.
        lost_publishes = set()
        for proxy in self.proxies.values():
            lost_publishes |= getattr(proxy, "lost_publishes", set())
        self.fanout_drops = self.merge_witness()
        # An async event whose every attempt ended in one of the soak's SIGKILLs goes to PieceFailuresQueue, as
        # on AWS: its picture may then end incomplete (or complete late). Those are accounted for here.
        log = open(self.up_log_path, errors="replace").read()
        killed = Counter(part.split(";")[0] for line in log.splitlines() if line.startswith("[local]") and " holding " in line
                         for part in line.split(" holding ", 1)[1].split(", "))
        self.faulted = {}
        for url in self.sqs.list_queues().get("QueueUrls", []):
            if not url.endswith("PieceFailuresQueue"):
                continue
            answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            for message in answer.get("Messages", []):
                record = json.loads(message["Body"])
                context, payload = record.get("requestContext", {}), record.get("requestPayload", {})
                if killed[context.get("requestId")] >= context.get("approximateInvokeCount", 99):
                    self.faulted[f"{payload.get('machine_id')}/{payload.get('label')}"] = context.get("requestId")
        for picture in self.faulted:
            if picture in self.pictures and self.pictures[picture]["kind"] == "complete":
                events = Counter(e for e, _, _ in self.notifications.get(picture, []))
                self.pictures[picture]["kind"] = "faulted"
                if sum(events.values()) > 1 + (picture in lost_publishes):
                    self.fail(picture, f"{dict(events)} (its piece's event was killed at every attempt: want one outcome)")
        self.duplicates_explained = []
        self.twice = []  # pictures whose original was written more than once
        checked_renditions = 0
        for picture, record in sorted(self.pictures.items()):
            events = Counter(e for e, _, _ in self.notifications.get(picture, []))
            kind = record["kind"]
            if kind == "unsent":
                self.fail(picture, f"the {record['source']} could not finish sending: {record.get('send_failures', [])[-1:]}")
                continue
            if kind == "complete":
                item = items.get(picture)
                # One picture.ready per version of the original (the bucket is versioned).
                versions = [v for v in self.s3.list_object_versions(Bucket=self.env["ORIGINALS_BUCKET"],
                                                                     Prefix=f"{picture}.jpg").get("Versions", [])
                            if v["Key"] == f"{picture}.jpg"]
                if len(versions) > 1:
                    described = []
                    for version in versions:
                        head = self.s3.head_object(Bucket=self.env["ORIGINALS_BUCKET"], Key=f"{picture}.jpg",
                                                   VersionId=version["VersionId"])
                        described.append(f"{version['LastModified'].isoformat()} {head.get('Metadata')}")
                    self.twice.append(f"{picture} ({len(versions)} versions: {described}; "
                                      f"notifications {dict(events)})")
                # A PutObject retried after its answer was lost writes a second, identical version; the
                # processor may take it as the same version (its order ties) and not notify again.
                for version in versions[1:]:
                    body = self.s3.get_object(Bucket=self.env["ORIGINALS_BUCKET"], Key=f"{picture}.jpg",
                                              VersionId=version["VersionId"])["Body"].read()
                    if body != record["bytes"]:
                        self.fail(picture, f"version {version['VersionId']} of its original is not the bytes sent")
                if not 1 <= events["picture.ready"] <= max(1, len(versions)):
                    if events["picture.ready"] > len(versions) and picture in lost_publishes:
                        self.duplicates_explained.append(picture)
                    else:
                        self.fail(picture, f"{events['picture.ready']} picture.ready notifications for "
                                           f"{len(versions)} version(s) of its original (want one, at most one per version)")
                if set(events) - {"picture.ready"}:
                    self.fail(picture, f"unexpected notifications {dict(events)}")
                if item is None or item.get("status", {}).get("S") != "ready":
                    self.fail(picture, f"pictures-table status {item and item.get('status')} (want ready)")
                    continue
                try:
                    original = self.s3.get_object(Bucket=self.env["ORIGINALS_BUCKET"], Key=f"{picture}.jpg")["Body"].read()
                except Exception as error:
                    self.fail(picture, f"no original: {error}")
                    continue
                if original != record["bytes"]:
                    self.fail(picture, f"original differs: {len(original)} bytes, SHA-256 "
                                       f"{hashlib.sha256(original).hexdigest()[:12]} (sent {record['sha256'][:12]})")
                renditions = item.get("renditions", {}).get("M", {})
                if set(renditions) != {"half", "thumb"}:
                    self.fail(picture, f"renditions {sorted(renditions)} (want half, thumb)")
                width, height = jpeg_size(record["bytes"])
                for name, entry in renditions.items():
                    entry = entry["M"]
                    key = entry["key"]["S"]
                    want_w, want_h = int(entry["width"]["N"]), int(entry["height"]["N"])
                    try:
                        body = self.s3.get_object(Bucket=self.env["RENDITIONS_BUCKET"], Key=key)["Body"].read()
                    except Exception as error:
                        self.fail(picture, f"rendition {name} ({key}) missing: {error}")
                        continue
                    checked_renditions += 1
                    problem = rendition_problem(body, name, want_w, want_h, width, height)
                    if problem:
                        self.fail(picture, f"rendition {name}: {problem}")
            elif kind == "incomplete":
                if events["picture.incomplete"] == 2 and picture in lost_publishes:
                    self.duplicates_explained.append(picture)
                elif events["picture.incomplete"] != 1 or set(events) != {"picture.incomplete"}:
                    self.fail(picture, f"notifications {dict(events)} (want one picture.incomplete)")
                else:
                    body = next(b for e, b, _ in self.notifications[picture] if e == "picture.incomplete")
                    if body.get("missing") != ranges(record["missing"]):
                        self.fail(picture, f"picture.incomplete names missing {body.get('missing')}, "
                                           f"the device left out {ranges(record['missing'])}")
            elif kind == "abandoned":
                if events:
                    self.fail(picture, f"a picture without END was notified: {dict(events)}")
        # Pieces left: only those of pictures that never completed.
        unfinished = {p for p, r in self.pictures.items() if r["kind"] in ("incomplete", "abandoned", "unsent", "faulted")}
        ttl = int(self.env.get("PIECE_TTL_SECONDS", "86400"))
        self.late_duplicates = []
        for picture_id, numbers in sorted(pieces.items()):
            if picture_id in unfinished:
                continue
            # A copy of a piece that arrived after the picture was reassembled and cleaned up (a device's
            # duplicate, an async retry) is stored again and left to its TTL: accounted for when it is that
            # piece of the original, byte for byte, and was stored after the original was written.
            record = self.pictures.get(picture_id)
            late = record is not None and 0 not in numbers and all(
                piece_items[picture_id][n].get("data", {}).get("B")
                == record["bytes"][(n - 1) * self.args.piece_bytes:n * self.args.piece_bytes]
                and int(piece_items[picture_id][n]["expiresAt"]["N"]) - ttl >= self.original_written(picture_id) - 1
                for n in numbers)
            if late:
                self.late_duplicates.append(f"{picture_id} {sorted(numbers)}")
            else:
                self.fail(picture_id, f"{len(numbers)} pieces left in the pieces table ({sorted(numbers)[:8]}...)")
        # Notifications about pictures the soak never sent.
        for picture in set(self.notifications) - set(self.pictures):
            self.fail(picture, f"notified but never sent: {[e for e, _, _ in self.notifications[picture]]}")
        # Dead letters: each accounted for by a picture the device left incomplete.
        self.dead_letters = {}
        queues = self.sqs.list_queues().get("QueueUrls", [])
        incomplete = {p for p, r in self.pictures.items() if r["kind"] in ("incomplete", "abandoned", "faulted")}
        for url in queues:
            name = url.rsplit("/", 1)[-1]
            if not any(word in name for word in ("DeadLetter", "PieceFailures", "PieceRuleErrors")):
                continue
            bodies = []
            while True:
                answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0)
                if not answer.get("Messages"):
                    break
                bodies += [m["Body"] for m in answer["Messages"]]
            self.dead_letters[name] = len(bodies)
            for body in bodies:
                owner = next((p for p in incomplete if json.dumps(p.split("/")[0]) in body and json.dumps(p.split("/")[1]) in body), None)
                if owner is None:
                    self.fail(name, f"dead letter not accounted for: {body[:300]}")
        self.checked_renditions = checked_renditions
        print()
        counts = Counter(r["kind"] for r in self.pictures.values())
        print(f"checked: {len(self.pictures)} pictures ({dict(counts)}), {checked_renditions} renditions decoded by djpeg, "
              f"{sum(len(v) for v in pieces.values())} pieces left (of {len(pieces)} unfinished pictures), dead letters {self.dead_letters}")
        said = [(self.faulted, "accounted: {n} async event(s) killed at every attempt by the soak, in PieceFailuresQueue "
                               "as Lambda's OnFailure records: {items}"),
                (self.fanout_drops, "emulator: {n} notification(s) reached the stack's own subscriber but not the soak's "
                                    "queue (moto's SNS fan-out), counted from there: {items}"),
                (self.late_duplicates, "accounted: {n} late copies of pieces of ready pictures, stored after their "
                                       "reassembly and left to the pieces' TTL: {items}"),
                (self.twice, "finding (docs/soak.md, bug 1): {n} original(s) written as more than one version: {items}")]
        for items, line in said:
            if items:
                print(line.format(n=len(items), items=items))
        if self.duplicates_explained:
            print(f"note: a second picture.ready for {self.duplicates_explained}: the proxy reset the connection after SNS "
                  "took the Publish (SNS standard topics deliver at least once; the function cannot know it was sent)")
        if self.violations:
            print(f"FAIL: {len(self.violations)} violation(s):")
            for line in self.violations:
                print(f"  {line}")
            return False
        print("PASS: every complete picture ready once with its original byte for byte and valid renditions; every "
              "incomplete one notified once naming its missing pieces; no stray pieces; dead letters accounted for")
        return True

    def original_written(self, picture):
        versions = self.s3.list_object_versions(Bucket=self.env["ORIGINALS_BUCKET"], Prefix=f"{picture}.jpg").get("Versions", [])
        return min((v["LastModified"].timestamp() for v in versions), default=float("inf"))

    # --- figures -----------------------------------------------------------------------------------

    def figures(self):
        log = open(self.up_log_path, errors="replace").read().splitlines()
        billed = defaultdict(list)
        memory = {}
        errors = Counter()
        for line in log:
            if "] REPORT RequestId:" not in line:
                continue
            function = line[1:line.index("]")]
            fields = dict(part.split(": ", 1) for part in line.split("\t")[1:] if ": " in part)
            billed[function].append(int(fields["Billed Duration"].split()[0]))
            memory[function] = int(fields["Memory Size"].split()[0])
            if "Error" in fields:
                errors[function] += 1
        async_retries = sum(1 for line in log if line.startswith("[async]") and " retried in " in line)
        destinations = sum(1 for line in log if line.startswith("[async]") and "OnFailure queue" in line)
        redelivered = sum(int(line.rsplit(", ", 1)[1].split()[0]) for line in log
                          if line.startswith("[event-source]") and line.endswith("redelivered"))
        replaced = sum(1 for line in log if line.startswith("[local]") and "; starting another" in line)
        held = sum(1 for line in log if line.startswith("[local]") and " holding " in line)
        timeouts = sum(1 for line in log if line.startswith("[local]") and " timed out after " in line)
        broker = sum(1 for line in log if "the MQTT broker exited: started again" in line)
        ready = [p for p, r in self.pictures.items() if r["kind"] == "complete"
                 and any(e == "picture.ready" for e, _, _ in self.notifications.get(p, []))]
        span = max(1e-9, (self.settled - self.start))
        wall_start = time.time() - (now() - 0)
        latencies = {"device": [], "upload": []}
        for picture in ready:
            record = self.pictures[picture]
            if "end" not in record:
                continue
            sent = min(s for e, _, s in self.notifications[picture] if e == "picture.ready") / 1000
            end_wall = wall_start + record["end"]
            latencies[record["source"]].append(max(0.0, sent - end_wall))
        pieces = len(billed.get("piece-storage", []))
        print()
        print("figures")
        print(f"  pictures ready: {len(ready)} in {span:.0f} s from the first send: {len(ready) / span * 60:.1f} pictures/minute;"
              f" piece-storage invocations {pieces}: {pieces / span:.1f} pieces/second")
        for source, values in latencies.items():
            if values:
                print(f"  {'END' if source == 'device' else 'upload'}-to-ready latency ({source}, {len(values)}): "
                      f"p50 {pct(values, 50):.2f} s, p95 {pct(values, 95):.2f} s, p99 {pct(values, 99):.2f} s, max {max(values):.2f} s")
        faults = Counter()
        for proxy in self.proxies.values():
            faults.update(proxy.faults)
        print(f"  faults: {len(self.fault_log)} scheduled ({Counter(k for _, k, _ in self.fault_log)}); proxy: {dict(faults)}")
        print(f"  instances replaced {replaced} ({held} were holding an event), timed out {timeouts}, broker restarts {broker}; "
              f"async retries {async_retries}, OnFailure destinations {destinations}, SQS redeliveries {redelivered}; "
              f"invocation errors {dict(errors)}")
        print(f"  prices: x86 us-east-1 list prices, ${PRICE_GB_SECOND} per GB-second, $0.20 per 1M requests; "
              "billed duration is each invocation's duration rounded up to the millisecond")
        total = {}
        scale = 1000 / max(1, len(ready))
        print(f"  {'function':18} {'invocations':>11} {'billed ms p50':>13} {'p95':>6} {'max':>6} {'total ms':>9} {'MB':>5} "
              f"{'GB-s/1000 pictures':>18} {'$ per 1000 pictures':>19}")
        for function in FUNCTIONS:
            values = billed.get(function, [])
            if not values:
                continue
            mb = memory[function]
            gbs = sum(values) / 1000 * mb / 1024 * scale
            cost = gbs * PRICE_GB_SECOND + len(values) * scale * PRICE_REQUEST
            total[function] = (values, cost)
            print(f"  {function:18} {len(values):>11} {pct(values, 50):>13.0f} {pct(values, 95):>6.0f} {max(values):>6} "
                  f"{sum(values):>9} {mb:>5} {gbs:>18.3f} {cost:>19.5f}")
        all_cost = sum(c for _, c in total.values())
        print(f"  Lambda cost per 1,000 pictures at the template's memory sizes: ${all_cost:.5f}")
        if "picture-processor" in total:
            values, cost = total["picture-processor"]
            for mb in (256, 512):
                gbs = sum(values) / 1000 * mb / 1024 * scale
                other = gbs * PRICE_GB_SECOND + len(values) * scale * PRICE_REQUEST
                print(f"    with picture-processor at {mb} MB (the same billed milliseconds, an upper bound: more memory "
                      f"is more CPU): ${all_cost - cost + other:.5f}")
        print(f"  AWS requests per ready picture, by function and operation (counted at the fault proxy, retries included):")
        for name, proxy in self.proxies.items():
            for (service, op), count in sorted(proxy.requests.items()):
                if count:
                    print(f"    {name:18} {service:9} {op:24} {count / max(1, len(ready)):7.2f}  ({count})")
        self.summary = {"ready": len(ready), "span": span, "latencies": latencies}


def pct(values, p):
    ordered = sorted(values)
    if not ordered:
        return 0
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


def ranges(numbers):
    """[3, 4, 5, 9] -> ["3-5", "9"], as picture.incomplete names them."""
    out, start = [], None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}-{prev}" if prev > start else str(start))
            start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if prev > start else str(start))
    return out


def jpeg_size(data):
    """(width, height) from the first SOF marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return None, None


def rendition_problem(body, name, want_w, want_h, orig_w, orig_h):
    if body[:2] != b"\xff\xd8" or body[-2:] != b"\xff\xd9":
        return "not a whole JPEG (FF D8 ... FF D9)"
    width, height = jpeg_size(body)
    if (width, height) != (want_w, want_h):
        return f"{width}x{height}, its item says {want_w}x{want_h}"
    decoded = subprocess.run(["djpeg", "-outfile", "/dev/null"], input=body, stderr=subprocess.PIPE)
    if decoded.returncode != 0 or decoded.stderr:
        return f"djpeg: {decoded.stderr.decode(errors='replace').strip() or decoded.returncode}"
    # The spec's size, either way round (EXIF orientation may turn the picture).
    long_side, short_side = max(orig_w, orig_h), min(orig_w, orig_h)
    if name == "half":
        want = (round(long_side / 2), round(short_side / 2))
    else:
        factor = min(1.0, 256 / long_side)
        want = (round(long_side * factor), round(short_side * factor))
    got = (max(width, height), min(width, height))
    if abs(got[0] - want[0]) > 1 or abs(got[1] - want[1]) > 1:
        return f"{width}x{height}, want about {want[0]}x{want[1]} (either way round) for {orig_w}x{orig_h}"
    return None


def main():
    parser = argparse.ArgumentParser(description="Soak the local stack under devices, uploads and faults.")
    parser.add_argument("--minutes", type=float, default=2, help="how long the load runs (default 2)")
    parser.add_argument("--devices", type=int, default=4, help="devices sending over MQTT at once (default 4)")
    parser.add_argument("--uploads", type=int, default=6, help="browser uploads over the run (default 6)")
    parser.add_argument("--no-faults", dest="faults", action="store_false", help="no kills, broker restarts or proxy faults")
    parser.add_argument("--processor-kills", choices=("on", "off", "auto"), default="auto",
                        help="SIGKILL picture-processor instances too (its SQS batch then waits out the queue's 360 s "
                             "visibility timeout, as on AWS); auto: on for runs of 8 minutes or more")
    parser.add_argument("--proxy-fault-rate", type=float, default=0.03, help="share of AWS requests faulted (default 0.03)")
    parser.add_argument("--fault-interval", type=float, default=15, help="seconds between scheduled faults (default 15)")
    parser.add_argument("--drain-seconds", type=float, default=None, help="how long to wait for outcomes after the load")
    parser.add_argument("--piece-bytes", type=int, default=4096, help="bytes per MQTT piece (default 4096)")
    parser.add_argument("--device-pause", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="seconds a device waits between photos (default 2 6)")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--state", default=".local/soak")
    parser.add_argument("--tessera", default=".build/debug/tessera")
    parser.add_argument("--package", default=None, help="run the deployment zips of this folder (scripts/package)")
    args = parser.parse_args()
    if not (0 < args.minutes <= 240 and 0 <= args.devices <= 200 and 0 <= args.uploads <= 10000):
        parser.error("bounded: --minutes 0-240, --devices 0-200, --uploads 0-10000")
    args.processor_kills = args.faults and (args.processor_kills == "on" or (args.processor_kills == "auto" and args.minutes >= 8))
    if args.drain_seconds is None:
        # A batch the processor fails waits out the queue's 360 s visibility timeout, as on AWS.
        args.drain_seconds = 480 if args.faults else 180
    soak = Soak(args)
    try:
        ok = soak.run()
    except BaseException:
        if getattr(soak, "up", None) and soak.up.poll() is None:
            soak.up.send_signal(signal.SIGTERM)
            soak.up.wait(timeout=60)
        raise
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
