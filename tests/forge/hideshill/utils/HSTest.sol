// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../../utils/Test.sol";

/// @title HSTest
/// @notice The Hide-and-Shill suites' base: the project's shared forge test base (cheatcodes, assertions, `bound`).
abstract contract HSTest is Test {}
