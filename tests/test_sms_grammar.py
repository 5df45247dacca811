import pytest

from opsbackend.domain.phone.sms_commands import NotUnderstood, parse


@pytest.mark.parametrize(
    ("text", "verb", "fields"),
    [
        ("ARRIVED", "arrived", {}),
        ("arrived v12", "arrived", {"visit_id": 12}),
        ("  Arrived   V12  ", "arrived", {"visit_id": 12}),
        ("llegué V7", "arrived", {"visit_id": 7}),
        ("CHANGED", "changed", {}),
        ("changed V3 250", "changed", {"visit_id": 3, "volume_ml": 250.0}),
        ("CHANGED 240 ml V3", "changed", {"visit_id": 3, "volume_ml": 240.0}),
        ("cambio v3 240,5", "changed", {"visit_id": 3, "volume_ml": 240.5}),
        ("changed V3 no flush", "changed", {"visit_id": 3, "no_flush": True}),
        ("PUMP RUNNING", "pump", {"pump_status": "running"}),
        ("pump V9 paused", "pump", {"visit_id": 9, "pump_status": "paused"}),
        ("PUMP V9 ALARM OCCLUSION 80%", "pump",
         {"visit_id": 9, "pump_status": "alarm", "alarm_type": "occlusion", "battery_pct": 80}),
        ("pump alarm air in line", "pump", {"pump_status": "alarm", "alarm_type": "air_in_line"}),
        ("bomba alarma oclusión 15 %", "pump",
         {"pump_status": "alarm", "alarm_type": "occlusion", "battery_pct": 15}),
        ("DONE V12", "done", {"visit_id": 12}),
        ("listo", "done", {}),
        ("HELP", "help", {}),
        ("ayuda por favor", "help", {}),
        ("ACK", "ack", {}),
        ("ok A12", "ack", {"alert_id": 12}),
        ("recibido", "ack", {}),
        ("STOP", "stop", {}),
        ("unsubscribe", "stop", {}),
        ("START", "start", {}),
        ("Sí", "yes", {}),
        ("yes!", "yes", {}),
        ("LLAMAR", "call", {}),
        ("👍 arrived", "arrived", {}),
    ],
)
def test_every_form_is_understood(text, verb, fields):
    command = parse(text)

    assert command.verb == verb
    for name, value in fields.items():
        assert getattr(command, name) == value


@pytest.mark.parametrize(
    ("text", "problem", "verb"),
    [
        ("", "empty", None),
        ("   ", "empty", None),
        ("hello there", "unknown_command", None),
        ("CHANGED lots", "bad_volume", "changed"),
        ("CHANGED 5000", "bad_volume", "changed"),
        ("PUMP", "missing_pump_status", "pump"),
        ("PUMP sideways", "bad_pump_status", "pump"),
        ("PUMP ALARM", "missing_alarm_type", "pump"),
        ("PUMP ALARM banana", "missing_alarm_type", "pump"),
        ("PUMP RUNNING 180%", "bad_battery", "pump"),
        ("ARRIVED V1 and more", "extra_words", "arrived"),
        ("x" * 2000, "unknown_command", None),
    ],
)
def test_what_is_not_understood_is_named(text, problem, verb):
    with pytest.raises(NotUnderstood) as caught:
        parse(text)

    assert caught.value.problem == problem
    assert caught.value.verb == verb
