/* SPDX-License-Identifier: Apache-2.0 */
/* TODO(placeholder while being written) */
#include "evr_event.h"
