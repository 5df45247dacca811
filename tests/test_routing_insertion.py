"""One urgent job into routes already given out: fewest others moved, then earliest start."""

from opsbackend.routing.insertion import insert
from opsbackend.routing.problem import Job, Problem, Vehicle
from opsbackend.routing.timeline import timed_route

HOUR = 3600


def line(jobs, vehicles, size=12):
    """Node n sits n x 10 minutes along one road."""
    return Problem(vehicles, jobs, [[abs(a - b) * 600 for b in range(size)] for a in range(size)])


def still_feasible(problem, orders):
    for vehicle in problem.vehicles:
        order = orders.get(vehicle.id, [])
        assert timed_route(problem, vehicle, order).dropped == [], (vehicle.id, order)


def test_a_gap_takes_the_job_and_nobody_moves():
    vehicles = [Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR), Vehicle(2, 0, 0, 7 * HOUR, 19 * HOUR)]
    jobs = [Job(1, 2, 8 * HOUR, 9 * HOUR, 1800), Job(2, 2, 12 * HOUR, 13 * HOUR, 1800),
            Job(3, 5, 9 * HOUR, 12 * HOUR, 1800)]  # the urgent one
    problem = line(jobs, vehicles)
    orders = {1: [1, 2], 2: []}

    found = insert(problem, orders, 3)

    assert found.moved == {} and found.reordered == ()
    assert found.start == 9 * HOUR  # both can be there at 09:00; the earliest start wins
    [(vehicle, order)] = found.orders.items()
    assert 3 in order
    still_feasible(problem, orders | found.orders)


def test_the_urgent_job_goes_where_it_starts_soonest():
    busy = Vehicle(1, 0, 0, 7 * HOUR, 19 * HOUR)
    free = Vehicle(2, 9, 9, 7 * HOUR, 19 * HOUR)
    jobs = [Job(1, 1, 9 * HOUR, 9 * HOUR + 600, 2 * HOUR),
            Job(2, 2, 9 * HOUR, 14 * HOUR, 1800)]
    problem = line(jobs, [busy, free])

    found = insert(problem, {1: [1], 2: []}, 2)

    # The busy unit, next door, is free at 11:10; the other unit drives 70 min from 07:00.
    assert found.vehicle_id == 2 and found.start == 9 * HOUR
    assert found.orders == {2: [2]}


def test_a_reorder_within_one_unit_comes_before_moving_a_visit_to_another():
    vehicles = [Vehicle(1, 0, 0, 8 * HOUR, 12 * HOUR)]
    # The unit does 1 (window all morning) then 2 (08:30-09:05); the urgent 3 must start
    # between 09:00 and 09:05. No place for 3 alone, but 2, 3 and then 1 fit.
    jobs = [Job(1, 1, 8 * HOUR, 11 * HOUR, 1800), Job(2, 1, 8 * HOUR + 1800, 9 * HOUR + 300, 1800),
            Job(3, 1, 9 * HOUR, 9 * HOUR + 300, 1800)]
    problem = line(jobs, vehicles)
    orders = {1: [1, 2]}

    found = insert(problem, orders, 3)

    assert found.moved == {} and len(found.reordered) == 1
    assert found.start == 9 * HOUR and found.orders == {1: [2, 3, 1]}
    still_feasible(problem, orders | found.orders)


def test_one_visit_moves_to_another_unit_when_only_that_makes_room():
    trained = Vehicle(1, 0, 0, 8 * HOUR, 12 * HOUR, frozenset({"infant"}))
    other = Vehicle(2, 6, 6, 8 * HOUR, 12 * HOUR)
    jobs = [Job(1, 1, 9 * HOUR, 9 * HOUR + 600, 1800),
            Job(2, 1, 9 * HOUR, 9 * HOUR + 600, 1800, frozenset({"infant"}))]
    problem = line(jobs, [trained, other])
    orders = {1: [1], 2: []}

    found = insert(problem, orders, 2)

    assert found.moved == {1: (1, 2)}
    assert found.orders == {1: [2], 2: [1]}
    still_feasible(problem, orders | found.orders)


def test_no_room_even_moving_one_visit_is_none():
    vehicles = [Vehicle(1, 0, 0, 8 * HOUR, 12 * HOUR)]
    jobs = [Job(1, 1, 9 * HOUR, 9 * HOUR + 600, 1800), Job(2, 1, 9 * HOUR, 9 * HOUR + 600, 1800)]
    problem = line(jobs, vehicles)

    assert insert(problem, {1: [1]}, 2) is None


def test_skills_and_capacity_are_kept():
    vehicles = [Vehicle(1, 0, 0, 8 * HOUR, 12 * HOUR, capacity=1),
                Vehicle(2, 0, 0, 8 * HOUR, 12 * HOUR, frozenset({"picc"}), capacity=2)]
    jobs = [Job(1, 1, 8 * HOUR, 12 * HOUR, 600, demand=1),
            Job(2, 1, 8 * HOUR, 12 * HOUR, 600, demand=1)]
    problem = line(jobs, vehicles)

    found = insert(problem, {1: [1], 2: []}, 2)

    assert found.vehicle_id == 2 and found.moved == {}
    assert insert(line([Job(3, 1, 8 * HOUR, 12 * HOUR, 600, frozenset({"ecmo"}))], vehicles),
                  {}, 3) is None
