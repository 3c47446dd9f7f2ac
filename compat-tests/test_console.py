"""The built-in web console (admin port, `/console/`) driven in headless Chromium through
selenium: a topic created in the browser, an Avro record produced through the REST Proxy v2 found
decoded in the browser, a group's lag seen rising and falling, the group's offsets reset in the
browser and checked with confluent-kafka; with security on, the console asks for a login and a
user sees only the topics they may describe.

Needs Debian's `chromium` and `chromium-driver` (test.sh installs them). Screenshots go to
compat-tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition

from kafkautil import admin, create_topic, unique
from secutil import (ADMIN_PASSWORD, ADMIN_USER, Jwks, Login, SecureBroker, acl, ck_conf, create_acls,
                     upsert_scram_users)

pytestmark = pytest.mark.timeout(180)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WAIT_S = 20

ORDER = json.dumps({"type": "record", "name": "Order", "fields": [
    {"name": "id", "type": "long"}, {"name": "item", "type": "string"}]})


@pytest.fixture
def browser(tmp_path):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromium-driver are not installed (test.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="strata-chromium-", dir=tmp_path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"console-{name}.png"))


def until(driver, predicate, what: str, timeout: float = WAIT_S):
    """Waits until predicate(driver) is truthy; fails with a screenshot and the page's error box."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate(driver)
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException):
            pass
        time.sleep(0.2)
    shot(driver, "failed-" + what.replace(" ", "-")[:40])
    error = driver.execute_script("const e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''")
    pytest.fail(f"timed out waiting for {what}; page error: {error!r}")


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def go(driver, url: str) -> None:
    driver.get(url)  # a changed hash on the same page routes through the page's hashchange


def lag_cells(driver):
    return [c.text for c in css(driver, "#lags-table .lag-value")]


def test_topic_avro_record_lag_and_reset_in_the_browser(broker, browser):
    topic = unique("console")
    group = unique("console-group")
    console = broker.admin_url + "/console/"

    # create the topic in the console
    go(browser, console + "#/topics")
    until(browser, lambda d: css(d, "#create-topic-submit"), "the topics page")
    css(browser, "#new-topic-name")[0].send_keys(topic)
    css(browser, "#create-topic-submit")[0].click()
    until(browser, lambda d: css(d, f'#topics-table tr[data-topic="{topic}"]'), "the new topic in the list")
    shot(browser, "topics")
    described = admin(broker.bootstrap).list_topics(topic, timeout=10).topics[topic]
    assert described.error is None and len(described.partitions) == 1

    # an Avro record through the REST Proxy v2
    r = requests.post(f"{broker.rest_proxy_url}/topics/{topic}", timeout=30,
                      headers={"Content-Type": "application/vnd.kafka.avro.v2+json"},
                      data=json.dumps({"value_schema": ORDER, "records": [{"value": {"id": 42, "item": "teapot"}}]}))
    assert r.status_code == 200, r.text
    schema_id = r.json()["value_schema_id"]

    # found decoded in the browser
    go(browser, console + f"#/messages/{topic}")
    cell = until(browser, lambda d: [c for c in css(d, "#records tr.record td.value") if "teapot" in c.text],
                 "the Avro record decoded")[0]
    assert f"AVRO #{schema_id}" in cell.text
    shown = json.loads(cell.find_element("css selector", "pre").text)
    assert shown == {"id": 42, "item": "teapot"}
    shot(browser, "messages-avro")

    # a group that committed offset 1, then left: lag 0
    conf = {"bootstrap.servers": broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False}
    c = Consumer(conf)
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        msg = c.poll(15)
        assert msg is not None and msg.error() is None
        c.commit(asynchronous=False)
    finally:
        c.close()
    go(browser, console + f"#/groups/{group}")
    until(browser, lambda d: lag_cells(d) == ["0"], "lag 0")

    # lag rises as records arrive
    r = requests.post(f"{broker.rest_proxy_url}/topics/{topic}", timeout=30,
                      headers={"Content-Type": "application/vnd.kafka.avro.v2+json"},
                      data=json.dumps({"value_schema_id": schema_id,
                                       "records": [{"value": {"id": i, "item": f"cup {i}"}} for i in range(5)]}))
    assert r.status_code == 200, r.text
    until(browser, lambda d: lag_cells(d) == ["5"], "lag 5")
    shot(browser, "group-lag-risen")

    # and falls when a consumer commits
    c = Consumer(conf)
    try:
        c.assign([TopicPartition(topic, 0, 1)])
        for _ in range(5):
            msg = c.poll(15)
            assert msg is not None and msg.error() is None
        c.commit(asynchronous=False)
    finally:
        c.close()
    until(browser, lambda d: lag_cells(d) == ["0"], "lag back to 0")
    until(browser, lambda d: (css(d, "#group-state") or [None])[0].text.upper() == "EMPTY", "the group Empty")
    shot(browser, "group-lag-fallen")

    # reset the empty group to an offset in the browser
    from selenium.webdriver.support.ui import Select

    Select(css(browser, "#reset-topic")[0]).select_by_visible_text(topic)
    Select(css(browser, "#reset-to")[0]).select_by_value("offset")
    css(browser, "#reset-offset")[0].send_keys("2")
    css(browser, "#reset-submit")[0].click()
    done = until(browser, lambda d: css(d, "#reset-done"), "the reset answer")[0]
    assert "partition 0 → 2" in done.text
    until(browser, lambda d: lag_cells(d) == ["4"], "lag 4 after the reset")
    shot(browser, "group-reset")

    # a real client sees the committed offset changed
    c = Consumer(conf)
    try:
        committed = c.committed([TopicPartition(topic, 0)], timeout=10)
        assert committed[0].offset == 2
    finally:
        c.close()

    # to earliest: 0
    Select(css(browser, "#reset-to")[0]).select_by_value("earliest")
    css(browser, "#reset-submit")[0].click()
    until(browser, lambda d: "partition 0 → 0" in (css(d, "#reset-done") or [None])[0].text, "reset to earliest")
    c = Consumer(conf)
    try:
        assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 0
    finally:
        c.close()

    # the subject the Avro produce registered: a compatible next version is checked as such
    go(browser, console + f"#/schemas/{topic}-value")
    until(browser, lambda d: css(d, "#schema-text") and css(d, "#schema-text")[0].get_attribute("value"),
          "the subject page")
    evolved = json.loads(ORDER)
    evolved["fields"].append({"name": "note", "type": "string", "default": ""})
    css(browser, "#schema-text")[0].clear()
    css(browser, "#schema-text")[0].send_keys(json.dumps(evolved))
    css(browser, "#schema-check")[0].click()
    until(browser, lambda d: css(d, "#compat-ok"), "the compatibility check")
    shot(browser, "schemas")

    # overview: the listeners, and throughput while records arrive
    go(browser, console + "#/overview")
    until(browser, lambda d: css(d, "#listeners") and "PLAINTEXT" in css(d, "#listeners")[0].text, "the overview")

    def producing(d):
        requests.post(f"{broker.rest_proxy_url}/topics/{topic}", timeout=30,
                      headers={"Content-Type": "application/vnd.kafka.json.v2+json"},
                      data=json.dumps({"records": [{"value": {"pad": "x" * 2000}}] * 20}))
        return css(d, "#rate-in")[0].text not in ("0 B/s", "")

    until(browser, producing, "throughput in above zero")
    shot(browser, "overview")


def test_reset_is_refused_while_the_group_has_members(broker):
    topic = unique("console-busy")
    group = unique("console-busy-group")
    create_topic(broker.bootstrap, topic)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "session.timeout.ms": 10000})
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 30
        while not c.assignment() and time.monotonic() < deadline:
            c.poll(0.5)
        assert c.assignment()
        r = requests.post(f"{broker.admin_url}/console/api/groups/{group}/reset", timeout=10,
                          json={"topic": topic, "to": "earliest"})
        assert r.status_code == 409, r.text
        assert "Stable" in r.json()["message"]
    finally:
        c.close()


AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@pytest.fixture
def secure(tmp_path):
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=tmp_path / "broker", name="strata-console-sec",
                     overrides={"authorizer.class.name": AUTHORIZER, "strata.http.authentication.methods": "BASIC"})
    try:
        b.start()
        yield b
    finally:
        b.cleanup()


def test_the_console_asks_for_a_login_and_shows_only_what_the_user_may_describe(secure, browser):
    from confluent_kafka.admin import AdminClient

    kafka = AdminClient(ck_conf(secure, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))
    upsert_scram_users(kafka, {"alice": "alice-secret"})
    visible, hidden = unique("visible"), unique("hidden")
    from confluent_kafka.admin import NewTopic

    for f in kafka.create_topics([NewTopic(visible, 1), NewTopic(hidden, 1)]).values():
        f.result(timeout=15)
    create_acls(kafka, [acl("TOPIC", visible, "User:alice", "DESCRIBE")])

    # without credentials the API is refused, without a challenge for the console's own calls
    r = requests.get(f"{secure.admin_url}/console/api/topics", headers={"X-Strata-Console": "1"}, timeout=10)
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers
    r = requests.get(f"{secure.admin_url}/console/api/topics", timeout=10)
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers

    go(browser, secure.admin_url + "/console/#/topics")
    until(browser, lambda d: css(d, "#login") and css(d, "#login")[0].is_displayed(), "the login form")
    assert not css(browser, "#topics-table")
    shot(browser, "login")

    # a wrong password is refused on the form
    css(browser, "#login-user")[0].send_keys("alice")
    css(browser, "#login-password")[0].send_keys("wrong")
    css(browser, "#login-submit")[0].click()
    until(browser, lambda d: css(d, "#login-error")[0].is_displayed(), "the login error")

    css(browser, "#login-password")[0].clear()
    css(browser, "#login-password")[0].send_keys("alice-secret")
    css(browser, "#login-submit")[0].click()
    until(browser, lambda d: css(d, f'#topics-table tr[data-topic="{visible}"]'), "alice's topic")
    names = [row.get_attribute("data-topic") for row in css(browser, "#topics-table tr[data-topic]")]
    assert visible in names and hidden not in names
    assert "User:alice" in css(browser, "#whoami")[0].text
    shot(browser, "secure-topics")

    # the security page lists ACLs for the admin only: alice may not describe them
    go(browser, secure.admin_url + "/console/#/security")
    until(browser, lambda d: css(d, "#error") and css(d, "#error")[0].is_displayed(), "alice refused the ACL list")
    shot(browser, "secure-security-alice")

    # the admin sees users and ACLs and creates a user in the page
    css(browser, "#logout")[0].click()
    until(browser, lambda d: css(d, "#login")[0].is_displayed(), "the login form again")
    css(browser, "#login-user")[0].send_keys(ADMIN_USER)
    css(browser, "#login-password")[0].send_keys(ADMIN_PASSWORD)
    css(browser, "#login-submit")[0].click()
    go(browser, secure.admin_url + "/console/#/security")
    until(browser, lambda d: css(d, "#acls-table") and visible in css(d, "#acls-table")[0].text, "alice's ACL listed")
    until(browser, lambda d: css(d, "#users-table") and "alice" in css(d, "#users-table")[0].text, "alice listed")
    css(browser, "#user-name")[0].send_keys("carol")
    css(browser, "#user-password")[0].send_keys("carol-secret")
    css(browser, "#user-form button")[0].click()
    until(browser, lambda d: "carol" in css(d, "#users-table")[0].text, "carol listed")
    shot(browser, "secure-security-admin")
    described = kafka.describe_user_scram_credentials(["carol"])["carol"].result(timeout=15)
    assert [info.mechanism.name for info in described.scram_credential_infos] == ["SCRAM_SHA_512"]
    # and carol can log in to the console with that password
    r = requests.get(f"{secure.admin_url}/console/api/whoami", auth=("carol", "carol-secret"), timeout=10)
    assert r.status_code == 200 and r.json()["principal"] == "User:carol"


def test_a_bearer_token_logs_in_to_the_console(tmp_path, browser):
    """An OAUTHBEARER cluster's user has no password: the token pasted into the login form is sent as
    `Authorization: Bearer` on every call, and the page shows what that principal may describe."""
    from confluent_kafka.admin import AdminClient, NewTopic

    jwks = Jwks(tmp_path / "jwks")
    b = SecureBroker({"SASL_PLAINTEXT": "SASL_PLAINTEXT"}, workdir=tmp_path / "broker", name="strata-console-jwt",
                     overrides={"authorizer.class.name": AUTHORIZER,
                                "strata.http.authentication.methods": "BASIC,BEARER", **jwks.overrides()})
    try:
        b.start()
        kafka = AdminClient(ck_conf(b, "SASL_PLAINTEXT", Login("SCRAM-SHA-256", ADMIN_USER, ADMIN_PASSWORD)))
        visible, hidden = unique("jwt-visible"), unique("jwt-hidden")
        for f in kafka.create_topics([NewTopic(visible, 1), NewTopic(hidden, 1)]).values():
            f.result(timeout=15)
        create_acls(kafka, [acl("TOPIC", visible, "User:bob", "DESCRIBE")])

        go(browser, b.admin_url + "/console/#/topics")
        until(browser, lambda d: css(d, "#login") and css(d, "#login")[0].is_displayed(), "the login form")
        # a token the JWKS cannot verify is refused on the form
        css(browser, "#login-token")[0].send_keys(jwks.token("bob", wrong_key=True)[0])
        css(browser, "#login-submit")[0].click()
        until(browser, lambda d: css(d, "#login-error")[0].is_displayed(), "the login error")
        assert not css(browser, "#topics-table")

        token, _ = jwks.token("bob")
        css(browser, "#login-token")[0].clear()
        css(browser, "#login-token")[0].send_keys(token)
        shot(browser, "bearer-login")
        css(browser, "#login-submit")[0].click()
        until(browser, lambda d: css(d, f'#topics-table tr[data-topic="{visible}"]'), "bob's topic")
        names = [row.get_attribute("data-topic") for row in css(browser, "#topics-table tr[data-topic]")]
        assert visible in names and hidden not in names
        assert "User:bob" in css(browser, "#whoami")[0].text
        assert browser.execute_script("return sessionStorage.getItem('strata.auth')") == "Bearer " + token
        shot(browser, "bearer-topics")
    finally:
        b.cleanup()


def test_configs_messages_tail_produce_and_delete_in_the_browser(broker, browser):
    from confluent_kafka import Producer
    from confluent_kafka.admin import ConfigResource, ResourceType

    topic = unique("console-edit")
    create_topic(broker.bootstrap, topic)
    console = broker.admin_url + "/console/"

    # edit a config on the topic page; a real client reads it back
    go(browser, console + f"#/topics/{topic}")
    field = until(browser, lambda d: css(d, '.config-value[data-name="retention.ms"]'), "the configs")[0]
    field.clear()
    field.send_keys("3600000")
    css(browser, "#save-configs")[0].click()
    until(browser, lambda d: "retention.ms" in css(d, "#configs-saved")[0].text, "the configs saved")
    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin(broker.bootstrap).describe_configs([resource])[resource].result(timeout=15)
    assert configs["retention.ms"].value == "3600000"

    # binary bytes as hex, text headers as text, through the live tail
    go(browser, console + f"#/messages/{topic}")
    until(browser, lambda d: css(d, "#records"), "the messages page")
    css(browser, "#msg-tail")[0].click()
    p = Producer({"bootstrap.servers": broker.bootstrap})
    p.produce(topic, key=b"k1", value=b"\x00\x01\xff", headers=[("trace", b"abc")])
    assert p.flush(15) == 0
    row = until(browser, lambda d: [r for r in css(d, "#records tr.record") if "00 01 ff" in r.text],
                "the binary record in the tail")[0]
    assert "BINARY" in row.text and "trace=abc" in row.text and "k1" in row.text

    # produce from the page; the tail shows it
    css(browser, "#produce-key")[0].send_keys("k2")
    css(browser, "#produce-value")[0].send_keys('{"hello": "console"}')
    css(browser, "#produce-headers")[0].send_keys("source=browser")
    css(browser, "#produce-submit")[0].click()
    until(browser, lambda d: "offset 1" in css(d, "#produce-result")[0].text, "the produce answer")
    row = until(browser, lambda d: [r for r in css(d, "#records tr.record") if "console" in r.text],
                "the produced record in the tail")[0]
    assert "JSON" in row.text and "source=browser" in row.text
    shot(browser, "messages-tail")

    # delete the topic from its page
    go(browser, console + f"#/topics/{topic}")
    until(browser, lambda d: css(d, "#delete-topic"), "the topic page")[0].click()
    browser.switch_to.alert.accept()
    until(browser, lambda d: css(d, "#topics-table"), "back on the topic list")
    deadline = time.monotonic() + 15
    while topic in admin(broker.bootstrap).list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.2)
    assert topic not in admin(broker.bootstrap).list_topics(timeout=10).topics
