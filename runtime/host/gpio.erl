%% @doc Pure (no process of its own): host-only stand-in for AtomVM's `gpio' module: every call is logged on the device console, written
%% levels are remembered (application env `avmd_host') so reads give them back, nothing else happens.
%% Never packed into a bundle.
-module(gpio).
-export([start/0, open/0, stop/0, close/1, init/1, deinit/1, set_pin_mode/2, set_pin_pull/2,
         set_direction/3, digital_write/2, digital_read/1, set_level/3, read/2, set_int/3, set_int/4,
         remove_int/2, attach_interrupt/2, detach_interrupt/1, hold_en/1, hold_dis/1,
         deep_sleep_hold_en/0, deep_sleep_hold_dis/0, set_function/2, wakeup_enable/2]).

-spec start() -> pid().
start() -> log(start, []), self().
-spec open() -> pid().
open() -> log(open, []), self().
-spec stop() -> ok.
stop() -> log(stop, []).
-spec close(term()) -> ok.
close(G) -> log(close, [G]).
-spec init(term()) -> ok.
init(Pin) -> log(init, [Pin]).
-spec deinit(term()) -> ok.
deinit(Pin) -> log(deinit, [Pin]).
-spec set_pin_mode(term(), term()) -> ok.
set_pin_mode(Pin, Mode) -> log(set_pin_mode, [Pin, Mode]).
-spec set_pin_pull(term(), term()) -> ok.
set_pin_pull(Pin, Pull) -> log(set_pin_pull, [Pin, Pull]).
-spec set_direction(term(), term(), term()) -> ok.
set_direction(G, Pin, Dir) -> log(set_direction, [G, Pin, Dir]).
-spec digital_write(term(), term()) -> ok.
digital_write(Pin, Level) -> remember(Pin, Level), log(digital_write, [Pin, Level]).
-spec digital_read(term()) -> term().
digital_read(Pin) -> _ = log(digital_read, [Pin]), level(Pin).
-spec set_level(term(), term(), term()) -> ok.
set_level(G, Pin, Level) -> remember(Pin, Level), log(set_level, [G, Pin, Level]).
-spec read(term(), term()) -> term().
read(G, Pin) -> _ = log(read, [G, Pin]), level(Pin).
-spec set_int(term(), term(), term()) -> ok.
set_int(G, Pin, Trigger) -> log(set_int, [G, Pin, Trigger]).
-spec set_int(term(), term(), term(), term()) -> ok.
set_int(G, Pin, Trigger, Pid) -> log(set_int, [G, Pin, Trigger, Pid]).
-spec remove_int(term(), term()) -> ok.
remove_int(G, Pin) -> log(remove_int, [G, Pin]).
-spec attach_interrupt(term(), term()) -> ok.
attach_interrupt(Pin, Trigger) -> log(attach_interrupt, [Pin, Trigger]).
-spec detach_interrupt(term()) -> ok.
detach_interrupt(Pin) -> log(detach_interrupt, [Pin]).
-spec hold_en(term()) -> ok.
hold_en(Pin) -> log(hold_en, [Pin]).
-spec hold_dis(term()) -> ok.
hold_dis(Pin) -> log(hold_dis, [Pin]).
-spec deep_sleep_hold_en() -> ok.
deep_sleep_hold_en() -> log(deep_sleep_hold_en, []).
-spec deep_sleep_hold_dis() -> ok.
deep_sleep_hold_dis() -> log(deep_sleep_hold_dis, []).
-spec set_function(term(), term()) -> ok.
set_function(Pin, Function) -> log(set_function, [Pin, Function]).
-spec wakeup_enable(term(), term()) -> ok.
wakeup_enable(Pin, Level) -> log(wakeup_enable, [Pin, Level]).

log(Fun, Args) ->
    io:format("[gpio] ~p(~ts)~n", [Fun, lists:join(", ", [io_lib:format("~p", [A]) || A <- Args])]).

remember(Pin, Level) -> application:set_env(avmd_host, {gpio_level, Pin}, Level).

level(Pin) -> application:get_env(avmd_host, {gpio_level, Pin}, low).
