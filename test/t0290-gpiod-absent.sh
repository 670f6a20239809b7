#!/bin/sh
# The libgpiod backend is always built, but this machine has no GPIO
# chip: pd --sensor gpio:... and ug --leds gpio:... must fail at start
# with a clear error (exit 1), not run without hardware.
. "$(dirname "$0")/lib.sh"

skip_all_unless !GPIOCHIP

test_expect_success 'pd --sensor gpio:CHIP:LINE without a chip: exit 1, says why' '
	test_expect_code 1 nano pd --listen $NET.1:5683 --location entrance \
		--sensor gpio:gpiochip0:17 2>err &&
	grep "no GPIO chip .gpiochip0." err &&
	grep "this machine has no /dev/gpiochip\*" err &&
	grep "use sysfs:N" err
'

test_expect_success 'the chip by label or by path: the same clear error' '
	test_expect_code 1 nano pd --listen $NET.1:5683 --location entrance \
		--sensor gpio:pinctrl-bcm2711:17:active-low 2>err &&
	grep "no GPIO chip .pinctrl-bcm2711." err &&
	test_expect_code 1 nano pd --listen $NET.1:5683 --location entrance \
		--sensor gpio:/dev/gpiochip0:17 2>err &&
	grep "no GPIO chip ./dev/gpiochip0." err
'

test_expect_success 'ug --leds gpio:CHIP:L1,L2 without a chip: exit 1, says why' '
	test_expect_code 1 nano ug --listen $NET.1:5683 --leds gpio:gpiochip0:17,27,22 \
		--route R1=17,27,22 2>err &&
	grep "no GPIO chip .gpiochip0." err &&
	grep "this machine has no /dev/gpiochip\*" err
'

test_expect_success 'and the port is free again afterwards' '
	start_bg srv "$TESTSRV" --listen $NET.1:5683 &&
	wait_for_health coap://$NET.1 &&
	stop_bg srv
'

test_done
